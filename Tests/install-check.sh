#!/usr/bin/env bash
# `make install` into a temporary PREFIX, then what docs/cli.md promises of it: the binary runs; every man page (one
# for orchestrate and one for each command) renders with `man -l` without a warning; each completion script is read
# by its shell (bash always, zsh and fish when installed) and completes a daemon's name in bash; and the systemd unit
# of examples/systemd passes `systemd-analyze verify` with the installed binary at its ExecStart path. Exits
# non-zero on the first failed step.
set -euo pipefail
repository="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$(mktemp -d)"
root="$(mktemp -d)"
trap 'rm -rf "$prefix" "$root"' EXIT

fail() {
    echo "install-check: $*" >&2
    exit 1
}

make -C "$repository" --no-print-directory install PREFIX="$prefix" >/dev/null

# The binary.
version="$("$prefix/bin/orchestrate" --version)"
[ -n "$version" ] || fail "the installed binary prints no version"

# The man pages: one for orchestrate and each visible command, rendered without a warning.
commands="up down reload status logs trigger start stop restart validate config files schema"
for page in orchestrate $(printf 'orchestrate.%s ' $commands); do
    file="$prefix/share/man/man1/$page.1"
    [ -f "$file" ] || fail "no man page $page.1"
    warnings="$(man -l "$file" 2>&1 >/dev/null)" || fail "man -l $file failed: $warnings"
    [ -z "$warnings" ] || fail "man -l $file warns: $warnings"
    man -l "$file" 2>/dev/null | grep -q "^EXIT STATUS" || fail "$page.1 has no EXIT STATUS section"
done
man -l "$prefix/share/man/man1/orchestrate.trigger.1" | grep -q -- "--wait" || fail "trigger's page has no --wait"
[ ! -e "$prefix/share/man/man1/orchestrate.reference.1" ] || fail "the hidden reference command got a page"

# The completions.
bash_completion="$prefix/share/bash-completion/completions/orchestrate"
bash -n "$bash_completion" || fail "bash cannot read $bash_completion"
bash -c "source '$bash_completion' && complete -p orchestrate" >/dev/null || fail "the bash completion registers nothing"
# A NAME argument completes to the manifest's daemons: trigger offers those that run on trigger.
offered="$(cd "$repository/examples" && PATH="$prefix/bin:$PATH" bash -c "source '$bash_completion'
    COMP_WORDS=(orchestrate trigger ''); COMP_CWORD=2; COMP_LINE='orchestrate trigger '; COMP_POINT=\${#COMP_LINE}
    _orchestrate orchestrate '' trigger; printf '%s ' \"\${COMPREPLY[@]}\"")"
[ "$offered" = "issues-sync code-atlas " ] || fail "bash completes 'orchestrate trigger ' with '$offered'"
zsh_completion="$prefix/share/zsh/site-functions/_orchestrate"
head -1 "$zsh_completion" | grep -q "^#compdef orchestrate" || fail "$zsh_completion is not a zsh completion"
if command -v zsh >/dev/null; then zsh -n "$zsh_completion" || fail "zsh cannot read $zsh_completion"; fi
fish_completion="$prefix/share/fish/vendor_completions.d/orchestrate.fish"
grep -q "^complete -c 'orchestrate'" "$fish_completion" || fail "$fish_completion completes nothing"
if command -v fish >/dev/null; then fish -n "$fish_completion" || fail "fish cannot read $fish_completion"; fi

# The systemd unit, against a root with systemd's own units and the binary where ExecStart expects it; verify exits
# 0 on warnings too, so its output must be empty.
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
    mkdir -p "$root/usr/local/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system"
    cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
    install -m 755 "$prefix/bin/orchestrate" "$root/usr/local/bin/orchestrate"
    cp "$repository/examples/systemd/orchestrate.service" "$root/etc/systemd/system/"
    output="$(systemd-analyze verify --root="$root" /etc/systemd/system/orchestrate.service 2>&1)" ||
        fail "systemd-analyze verify failed: $output"
    [ -z "$output" ] || fail "systemd-analyze verify warns: $output"
else
    echo "install-check: no systemd-analyze here; the unit was not verified" >&2
fi
echo "install-check: ok ($version; $(ls "$prefix/share/man/man1" | wc -l) man pages, 3 completions, the systemd unit)"
