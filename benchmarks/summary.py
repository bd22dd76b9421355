"""The summary table of `make bench`: one row per scenario of DESIGN.md §7, orchestrate beside its peers.

`rows(document)` reads the document run.py writes to results/latest.json (sections that were not run give no row);
`text(rows)` renders it for a terminal of 120 columns, `markdown(rows)` for a note. Each row holds the scenario (with
n, the runs its medians come from), orchestrate's figure, one cell per peer with the peer's figure over orchestrate's
in brackets (above 1: orchestrate is faster or lighter), and the target of DESIGN.md §7.
"""

from typing import NamedTuple

PROCESS_PEERS = ("supervisord", "circus")
WATCHER_PEERS = ("entr", "inotifywait")


class Row(NamedTuple):
    scenario: str
    orchestrate: str
    peers: list[str]  # "NAME figure (ratio)" each; empty when no peer does this job here
    target: str


def number(value: float, unit: str) -> str:
    """1 decimal below 1,000, none (with a thousands separator) above; "12.0/s" but "12.0 ms"."""
    separator = "" if unit.startswith("/") else " "
    return f"{value:,.0f}{separator}{unit}" if abs(value) >= 1000 else f"{value:.1f}{separator}{unit}"


def ratio(theirs: float | None, ours: float | None) -> str:
    if theirs is None or not ours:
        return ""
    return f" ({theirs / ours:.1f}×)" if theirs / ours < 100 else f" ({theirs / ours:,.0f}×)"


def _compare(results: dict, names: tuple[str, ...], key: str, unit: str) -> tuple[str, list[str]]:
    """orchestrate's figure `key` and each peer's, with the ratio; a peer not installed is named as skipped."""
    ours = (results.get("orchestrate") or {}).get(key)
    cells = []
    for name in names:
        figures = results.get(name)
        if name not in results:
            continue
        theirs = figures.get(key) if figures else None
        cells.append(f"{name} {number(theirs, unit)}{ratio(theirs, ours)}" if theirs is not None
                     else f"{name} {'skipped (not installed)' if figures is None else 'failed'}")
    return (number(ours, unit) if ours is not None else "failed"), cells


def _process_rows(process: dict) -> list[Row]:
    ours = process.get("orchestrate") or {}
    rows = []

    def add(scenario: str, key: str, unit: str, target: str) -> None:
        figure, peers = _compare(process, PROCESS_PEERS, key, unit)
        rows.append(Row(scenario, figure, peers, target))

    add("idle CPU, 10 s, 100 daemons", "idle_cpu_ms", "ms", "no work when idle")
    add("idle wake-ups, 100 daemons", "idle_wakeups_per_s", "/s", "no polling loops")
    add("memory (VmRSS), 100 daemons", "rss_mib", "MiB", "< 15 MiB")
    for count, target in ((1, "< 20 ms"), (10, "< 30 ms"), (100, "< 100 ms"), (1000, "—")):
        runs = ours.get(f"start_{count}_runs", "?")
        add(f"start to {count:,} running (n={runs})", f"start_{count}_ms", "ms", target)
    add(f"status round trip (n={ours.get('status_runs', '?')})", "status_ms", "ms", "< 15 ms")
    add(f"manifest change applied (n={ours.get('apply_change_runs', '?')})", "apply_change_ms", "ms",
        "< 50 ms + debounce")
    add(f"crash to restart (n={ours.get('restart_runs', '?')})", "restart_after_kill_ms", "ms", "backoff ± 10 ms")
    add(f"down, 100 children (n={ours.get('down_runs', '?')})", "down_ms", "ms", "< 100 ms")
    return rows


def _storm_cell(storm: dict) -> str:
    """"N runs, all paths, +X ms" (the last run's start after the last file); when the runs had not stopped by the
    timeout: "N runs, P paths when cut at T s"."""
    runs = f"{storm['runs']:,} run{'' if storm['runs'] == 1 else 's'}"
    paths = "all paths" if storm["every_path"] else f"{storm['paths_handed_over']:,} paths"
    if not storm.get("settled", True):
        return f"{runs}, {paths} when cut at {storm.get('timeout_s', '?')} s"
    last = storm.get("last_run_after_last_file_ms")
    return f"{runs}, {paths}, +{f'{last:,.0f} ms' if last is not None else '?'}"


def _watcher_rows(document: dict) -> list[Row]:
    peers = document.get("watchers", {})
    ours = {row["scenario"]: row for row in peers.get("orchestrate", [])}
    quick = next((row for name, row in ours.items() if name.startswith("file write")), None)
    storm = next((row for name, row in ours.items() if "files created at once" in name), None)
    rows = []
    if quick:
        cells = []
        for name in WATCHER_PEERS:
            if name in peers:
                latency = (peers[name] or {}).get("latency")
                cells.append(f"{name} {number(latency['median_ms'], 'ms')}{ratio(latency['median_ms'], quick['median_ms'])}"
                             if latency else f"{name} {'skipped (not installed)' if peers[name] is None else 'failed'}")
        rows.append(Row(f"file write to command (n={quick['runs']})", number(quick["median_ms"], "ms"), cells,
                        "< 5 ms (debounce 0)"))
    if storm:
        cells = []
        ours_last = storm.get("last_run_after_last_file_ms")
        for name in WATCHER_PEERS:
            if name in peers:
                theirs = (peers[name] or {}).get("storm")
                cells.append(f"{name} {_storm_cell(theirs)}{ratio(theirs.get('last_run_after_last_file_ms'), ours_last)}"
                             if theirs else f"{name} skipped (not installed)")
        rows.append(Row("10,000 files at once (n=1)", _storm_cell(storm), cells, "1–2 runs, all, < 500 ms"))
    return rows


def rows(document: dict) -> list[Row]:
    """Every row the document has figures for, in DESIGN.md §7's order."""
    found = []
    validate = next((row for row in document.get("scenarios", []) if row.get("target_ms") == 50), None)
    if validate:
        found.append(Row(f"validate 1,000 daemons (n={validate['runs']})", number(validate["median_ms"], "ms"), [],
                         "< 50 ms"))
    if document.get("process"):
        found += _process_rows(document["process"])
    found += _watcher_rows(document)
    for late in document.get("lateness") or []:
        every = f"{late['daemons']} × {late['interval_ms']:,} ms" + (f", jitter {late['jitter_ms']} ms"
                                                                    if late.get("jitter_ms") else "")
        figure = (f"p50 {number(late['p50_ms'], 'ms')}, p99 {number(late['p99_ms'], 'ms')}" if "p50_ms" in late
                  else "no late_ms in run records")
        found.append(Row(f"periodic lateness, {every} (n={late['runs_seen']:,})", figure, [], "p99 < 5 ms"))
        found.append(Row(f"periodic runs in 10 s, {every}", f"{late['runs_counted']:,} of {late['runs_due']:,} due",
                         [], "all (no drift)"))
    health = next((row for row in document.get("rpc", []) if row["scenario"].startswith("GET /health")), None)
    if health:
        found.append(Row("rpc GET /health (wrk, 10 s)", f"{health['requests_per_s']:,} req/s", [],
                         "tens of thousands/s"))
    return found


HEADER = ("scenario", "orchestrate", "peers (peer/orchestrate)", "target")


def text(found: list[Row], width: int = 120) -> str:
    """The table for a terminal: the peers' cells on one line when they fit, else one peer a line."""
    first = max(len(HEADER[0]), *(len(row.scenario) for row in found))
    second = max(len(HEADER[1]), *(len(row.orchestrate) for row in found))
    fourth = max(len(HEADER[3]), *(len(row.target) for row in found))
    third = max(20, width - first - second - fourth - 6)
    lines = [f"{HEADER[0]:<{first}}  {HEADER[1]:<{second}}  {HEADER[2][:third]:<{third}}  {HEADER[3]}",
             "-" * min(width, first + second + third + fourth + 6)]
    for row in found:
        joined = ", ".join(row.peers) or "—"
        cells = [joined] if len(joined) <= third else row.peers
        for index, cell in enumerate(cells):
            if index == 0:
                lines.append(f"{row.scenario:<{first}}  {row.orchestrate:<{second}}  {cell:<{third}}  {row.target}")
            else:
                lines.append(f"{'':<{first}}  {'':<{second}}  {cell}")
    return "\n".join(line.rstrip() for line in lines)


def markdown(found: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    for row in found:
        cells = (row.scenario, row.orchestrate, "; ".join(row.peers) or "—", row.target)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
