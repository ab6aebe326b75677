//! The README shows the tables the kit actually uses.

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn readme_prints_the_rows_the_features_and_the_rules() {
    let readme = readme();
    for (what, table) in [
        ("rows", unblocked::kit::expect::markdown_rows()),
        (
            "features",
            unblocked::kit::expect::features::markdown_table(),
        ),
        ("rules", unblocked::kit::judge::markdown_rules()),
    ] {
        assert!(
            readme.contains(&table),
            "README.md is out of date; paste these {what}:\n{table}"
        );
    }
}
