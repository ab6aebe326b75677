#!/usr/bin/env bash
# Installs what the peers in peers/ need, from package registries only (apt-get, npm, pip),
# and builds the Go peer. Idempotent and quick when everything is there: each step checks
# first and does nothing if its peer is ready. A toolchain that cannot be installed is
# reported with a SKIPPED line and the script goes on; it exits 0 unless asked for
# `--strict` (then 1 if anything was skipped).
#
#   ci/install-peers.sh                  # every peer
#   ci/install-peers.sh node-express go-net-http
#   ci/install-peers.sh --strict
set -uo pipefail
cd "$(dirname "$0")/../peers"

strict=0
wanted=()
for arg in "$@"; do
    case "$arg" in
        --strict) strict=1 ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) wanted+=("$arg") ;;
    esac
done
for w in "${wanted[@]+"${wanted[@]}"}"; do
    [ -d "$w" ] || printf 'install-peers: unknown peer %s (not a directory of peers/)\n' "$w"
done

skipped=()
say() { printf 'install-peers: %s\n' "$*"; }
skip() { say "SKIPPED $1: $2"; skipped+=("$1"); }
want() { [ ${#wanted[@]} -eq 0 ] && return 0; local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

apt_updated=0
apt_install() { # apt_install PACKAGE...: quiet, one `apt-get update` per run at most
    command -v apt-get > /dev/null || return 1
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    if [ "$apt_updated" -eq 0 ]; then
        $sudo apt-get update -qq > /dev/null 2>&1 || return 1
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" > /dev/null 2>&1
}

# A venv from requirements.txt, reused while `pip freeze` still matches it.
python_venv() { # python_venv PEER
    local peer=$1 venv=$1/.venv
    if ! command -v python3 > /dev/null; then
        apt_install python3 python3-venv || { skip "$peer" "no python3 and apt-get could not install it"; return; }
    fi
    if [ -x "$venv/bin/python" ] && diff -q <("$venv/bin/pip" freeze 2> /dev/null | sort) \
        <(grep -v '^\s*#' "$peer/requirements.txt" | grep . | sort) > /dev/null; then
        say "$peer: ready ($venv matches requirements.txt)"
        return
    fi
    if ! python3 -m venv "$venv" > /dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3-venv && python3 -m venv "$venv" > /dev/null 2>&1 \
            || { rm -rf "$venv"; skip "$peer" "python3 -m venv failed (python3-venv missing?)"; return; }
    fi
    if "$venv/bin/pip" install -q --disable-pip-version-check -r "$peer/requirements.txt"; then
        say "$peer: installed $(tr '\n' ' ' < "$peer/requirements.txt")"
    else
        skip "$peer" "pip install -r $peer/requirements.txt failed"
    fi
}

need_node() { # Node 18+ (node-http, node-express)
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2> /dev/null || echo 0)
    [ "$major" -ge 18 ] && return 0
    apt_install nodejs npm || return 1
    major=$(node -p 'process.versions.node.split(".")[0]' 2> /dev/null || echo 0)
    [ "$major" -ge 18 ]
}

if want node-http; then
    if need_node; then say "node-http: ready (node $(node --version))"; else skip node-http "no node >= 18 and apt-get could not install nodejs"; fi
fi

if want node-express; then
    if ! need_node; then
        skip node-express "no node >= 18 and apt-get could not install nodejs"
    elif ! command -v npm > /dev/null && ! apt_install npm; then
        skip node-express "no npm and apt-get could not install it"
    elif [ -f node-express/node_modules/.package-lock.json ] &&
        node -e 'const a=require("./node-express/package-lock.json").packages, b=require("./node-express/node_modules/.package-lock.json").packages;
                 for (const k of Object.keys(a)) if (k && (!b[k] || b[k].version !== a[k].version)) process.exit(1)' 2> /dev/null; then
        say "node-express: ready (node_modules matches package-lock.json)"
    elif (cd node-express && npm ci --no-audit --no-fund --loglevel=error > /dev/null); then
        say "node-express: installed express $(node -p 'require("./node-express/node_modules/express/package.json").version')"
    else
        skip node-express "npm ci failed"
    fi
fi

want python-http-server && if command -v python3 > /dev/null || apt_install python3; then
    say "python-http-server: ready ($(python3 --version 2>&1))"
else
    skip python-http-server "no python3 and apt-get could not install it"
fi

want python-aiohttp && python_venv python-aiohttp
want python-uvicorn-starlette && python_venv python-uvicorn-starlette

if want go-net-http; then
    if ! command -v go > /dev/null && ! apt_install golang-go; then
        skip go-net-http "no go and apt-get could not install golang-go"
    elif [ -x go-net-http/server ] && [ go-net-http/server -nt go-net-http/main.go ] && [ go-net-http/server -nt go-net-http/go.mod ]; then
        say "go-net-http: ready (go-net-http/server is newer than its source)"
    elif (cd go-net-http && GOPROXY=off go build -o server .); then
        say "go-net-http: built go-net-http/server with $(go version | cut -d' ' -f3)"
    else
        skip go-net-http "go build failed"
    fi
fi

if want java-httpserver; then
    # Compiled once here: `java Server.java` would compile the source at every start, and
    # the kit starts several instances at once.
    java_ok() { javac --version > /dev/null 2>&1 && java --list-modules 2> /dev/null | grep -q '^jdk.httpserver'; }
    class=java-httpserver/classes/Server.class
    if ! java_ok && ! { apt_install openjdk-17-jdk-headless && java_ok; }; then
        skip java-httpserver "no JDK 11+ (javac, jdk.httpserver) and apt-get could not install openjdk-17-jdk-headless"
    elif [ -f "$class" ] && [ "$class" -nt java-httpserver/Server.java ]; then
        say "java-httpserver: ready ($class is newer than its source)"
    elif javac -d java-httpserver/classes java-httpserver/Server.java; then
        say "java-httpserver: compiled $class with $(javac --version 2>&1)"
    else
        skip java-httpserver "javac failed"
    fi
fi

# Peers whose stack is a Debian package: ready when CHECK succeeds, else apt-get installs
# the packages (names, not versions: Debian's security updates replace them) and CHECK again.
apt_peer() { # apt_peer PEER 'CHECK' 'VERSION' PACKAGE...
    local peer=$1 check=$2 version=$3
    shift 3
    if bash -c "$check" > /dev/null 2>&1 || { apt_install "$@" && bash -c "$check" > /dev/null 2>&1; }; then
        say "$peer: ready ($(bash -c "$version" 2>&1 | head -1))"
    else
        skip "$peer" "$check failed and apt-get could not install $*"
    fi
}

want ruby-webrick && apt_peer ruby-webrick "ruby -rwebrick -e 1" \
    "ruby -rwebrick -e 'puts \"webrick #{WEBrick::VERSION}, ruby #{RUBY_VERSION}\"'" ruby ruby-webrick
want ruby-puma && apt_peer ruby-puma "ruby -rrack -rpuma -rrack/handler/puma -e 1" \
    "ruby -rpuma -rrack -e 'puts \"puma #{Puma::Const::PUMA_VERSION}, rack #{Rack.release}, ruby #{RUBY_VERSION}\"'" ruby puma ruby-rack
want ruby-thin && apt_peer ruby-thin "ruby -rthin -e 1" \
    "ruby -rthin -e 'puts \"thin #{Thin::VERSION::STRING}, eventmachine #{EM::VERSION}, ruby #{RUBY_VERSION}\"'" ruby thin
want perl-mojolicious && apt_peer perl-mojolicious "perl -MMojolicious -e 1" \
    "perl -MMojolicious -e 'print qq{mojolicious \$Mojolicious::VERSION, perl \$^V\n}'" libmojolicious-perl
want perl-starman && apt_peer perl-starman "perl -MStarman::Server -MPlack::Builder -MPlack::Handler::Starman -e 1" \
    "perl -MStarman -MPlack -e 'print qq{starman \$Starman::VERSION, plack \$Plack::VERSION, perl \$^V\n}'" starman libplack-perl
# php -S, with pcntl (fork and exec, to print the line once it listens): Debian's php-cli has it.
want php-builtin && apt_peer php-builtin "php -r 'exit(function_exists(\"pcntl_exec\") ? 0 : 1);'" \
    "php -r 'echo \"php \", PHP_VERSION, PHP_EOL;'" php-cli

want python-tornado && python_venv python-tornado
want python-hypercorn && python_venv python-hypercorn
want python-twisted && python_venv python-twisted
want python-gevent && python_venv python-gevent
want python-granian && python_venv python-granian

if want node-fastify; then
    if ! need_node; then
        skip node-fastify "no node >= 18 and apt-get could not install nodejs"
    elif ! command -v npm > /dev/null && ! apt_install npm; then
        skip node-fastify "no npm and apt-get could not install it"
    elif [ -f node-fastify/node_modules/.package-lock.json ] &&
        node -e 'const a=require("./node-fastify/package-lock.json").packages, b=require("./node-fastify/node_modules/.package-lock.json").packages;
                 for (const k of Object.keys(a)) if (k && (!b[k] || b[k].version !== a[k].version)) process.exit(1)' 2> /dev/null; then
        say "node-fastify: ready (node_modules matches package-lock.json)"
    elif (cd node-fastify && npm ci --no-audit --no-fund --loglevel=error > /dev/null); then
        say "node-fastify: installed fastify $(node -p 'require("./node-fastify/node_modules/fastify/package.json").version')"
    else
        skip node-fastify "npm ci failed"
    fi
fi

if [ ${#skipped[@]} -gt 0 ]; then
    say "done; skipped: ${skipped[*]}"
    [ "$strict" -eq 1 ] && exit 1
else
    say "done; every requested peer is ready"
fi
exit 0
