# shellcheck shell=bash
# require_tools CMD[=PACKAGE]...: every CMD on PATH, installing the missing
# ones' Debian packages (PACKAGE, default CMD) with apt-get, or the test is
# skipped with the reason. Sourced by tests that define log and skip.
require_tools() {
    local spec cmd missing=() cmds=()
    for spec in "$@"; do
        cmd=${spec%%=*}
        cmds+=("$cmd")
        command -v "$cmd" >/dev/null || missing+=("${spec#*=}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null || skip "missing ${missing[*]} and no apt-get to install them"
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } </dev/null >/dev/null 2>&1 \
            || skip "could not install ${missing[*]} with apt-get"
        hash -r
    fi
    for cmd in "${cmds[@]}"; do
        command -v "$cmd" >/dev/null || skip "$cmd is not available"
    done
}
