//! The README shows the tables the kit actually uses.

#[test]
fn readme_prints_the_expectations_table_and_the_rules() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = unblocked::kit::expect::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md is out of date; paste this table:\n{table}"
    );
    let rules = unblocked::kit::judge::markdown_rules();
    assert!(
        readme.contains(&rules),
        "README.md is out of date; paste these rules:\n{rules}"
    );
}
