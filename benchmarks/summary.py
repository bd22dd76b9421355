"""The summary table of `make bench`: one row per scenario with a target, orchestrate beside its peers.

`rows(document)` reads the document run.py writes to results/latest.json (sections that were not run give no row);
`text(rows)` renders it for a terminal of 120 columns, `markdown(rows)` for a note. Each row holds the scenario (with
n, the runs its medians come from), orchestrate's figure, one cell per peer with the peer's figure over orchestrate's
in brackets (above 1: orchestrate is faster or lighter), and orchestrate's target. With a baseline binary
(`run.py --baseline-binary`), `with_baseline(rows, rows(baseline document))` adds the baseline's figure and the ratio
baseline / new of each row's compared figure (`value`), and `worse(rows)` lists the rows where the new binary is more
than 10% worse.
"""

import re
from typing import NamedTuple

from common import FULL, Scale

PROCESS_PEERS = ("supervisord", "circus")
WATCHER_PEERS = ("entr", "inotifywait")
SPAWN_LOOP = "spawn-loop"  # processes.SpawnLoop: the floor of the starts, shown beside the peers in the start rows
TOLERANCE = 0.10  # a row is "worse" when the new binary's figure is more than this much worse than the baseline's


class Row(NamedTuple):
    scenario: str
    orchestrate: str
    peers: list[str]  # "NAME figure (ratio)" each; empty when no peer does this job here
    target: str
    value: float | None = None  # the figure compared with a baseline binary's (the first of the cell)
    higher_is_better: bool = False
    baseline: str = ""  # with a baseline binary: its figure,
    ratio: str = ""  # ... the baseline's value over the new one's,
    worse: bool = False  # ... and whether the new one is more than TOLERANCE worse


def number(value: float | None, unit: str) -> str:
    """1 decimal below 1,000, none (with a thousands separator) above; "12.0/s" but "12.0 ms"; "failed" for a
    missing figure."""
    if value is None:
        return "failed"
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


def scale_of(document: dict) -> Scale:
    """The scale the document's run had (a document from before scales were recorded: a full run)."""
    recorded = document.get("scale")
    if not recorded:
        return FULL
    return Scale(**{**recorded, "start_counts": tuple(tuple(pair) for pair in recorded["start_counts"])})


def _process_rows(process: dict, scale: Scale) -> list[Row]:
    ours = process.get("orchestrate") or {}
    count = scale.programs
    rows = []

    def add(scenario: str, key: str, unit: str, target: str, peers: tuple[str, ...] = PROCESS_PEERS) -> None:
        figure, cells = _compare(process, peers, key, unit)
        rows.append(Row(scenario, figure, cells, target, ours.get(key)))

    add(f"idle CPU, {scale.idle_s:g} s, {count} daemons", "idle_cpu_ms", "ms", "no work when idle")
    add(f"idle wake-ups, {count} daemons", "idle_wakeups_per_s", "/s", "no polling loops")
    add(f"memory (VmRSS), {count} daemons", "rss_mib", "MiB", "≤ 15 MiB")
    add(f"memory (PSS), {count} daemons", "pss_mib", "MiB", "—")
    add(f"memory (RssAnon), {count} daemons", "rss_anon_mib", "MiB", "—")
    targets = {1: "≤ 10 ms", 10: "≤ 20 ms", 100: "≤ 80 ms", 1000: "≤ 600 ms"}
    for size in scale.start_sizes():
        runs = ours.get(f"start_{size}_runs", "?")
        # Beside the peers, the floor: a loop of posix_spawn timed the same way (processes.SpawnLoop).
        add(f"start to {size:,} running (n={runs})", f"start_{size}_ms", "ms", targets.get(size, "—"),
            PROCESS_PEERS + (SPAWN_LOOP,))
    add(f"status round trip (n={ours.get('status_runs', '?')})", "status_ms", "ms", "≤ 8 ms")
    add(f"metrics scrape, {count} daemons (n={ours.get('metrics_scrape_runs', '?')})", "metrics_scrape_ms", "ms",
        "< 5 ms", ())
    add(f"manifest change applied (n={ours.get('apply_change_runs', '?')})", "apply_change_ms", "ms",
        "< 50 ms + debounce")
    add(f"crash to restart (n={ours.get('restart_runs', '?')})", "restart_after_kill_ms", "ms", "backoff ± 10 ms")
    add(f"down, {count} children (n={ours.get('down_runs', '?')})", "down_ms", "ms", "< 100 ms")
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


def _watcher_rows(document: dict, scale: Scale) -> list[Row]:
    peers = document.get("watchers", {})
    ours = {row["scenario"]: row for row in peers.get("orchestrate", [])}
    quick = next((row for name, row in ours.items() if name.startswith("file write to watcher")), None)
    restart = next((row for name, row in ours.items() if "process restarted" in name), None)
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
                        "< 5 ms (debounce 0)", quick["median_ms"]))
    if storm:
        cells = []
        ours_last = storm.get("last_run_after_last_file_ms")
        for name in WATCHER_PEERS:
            if name in peers:
                theirs = (peers[name] or {}).get("storm")
                cells.append(f"{name} {_storm_cell(theirs)}{ratio(theirs.get('last_run_after_last_file_ms'), ours_last)}"
                             if theirs else f"{name} skipped (not installed)")
        rows.append(Row(f"{scale.storm_files:,} files at once (n=1)", _storm_cell(storm), cells, "1–2 runs, all, < 500 ms",
                        ours_last))
    if restart:
        # No peer installs here: watchexec is not packaged for Debian 12 nor on PyPI; docker compose's `watch`
        # documents its `sync+restart` as a restart of the container after the sync, with no figure.
        rows.append(Row(f"file write to process restarted (n={restart['runs']})", number(restart["median_ms"], "ms"),
                        ["(no peer installs here)"], "debounce 50 ms + stop + start", restart["median_ms"]))
    return rows


def rows(document: dict) -> list[Row]:
    """Every row the document has figures for, in the order of the targets."""
    scale = scale_of(document)
    found = []
    for row in document.get("scenarios", []):
        if row["scenario"] == "orchestrate --version":
            found.append(Row(f"--version as a whole process (n={row['runs']})", number(row["median_ms"], "ms"), [],
                             "≤ 5 ms", row["median_ms"]))
        elif row["scenario"].startswith("validate, ") and "target_ms" in row:
            found.append(Row(f"validate {document.get('daemons', 1000):,} daemons (n={row['runs']})",
                             number(row["median_ms"], "ms"), [], "≤ 30 ms", row["median_ms"]))
    if document.get("process"):
        found += _process_rows(document["process"], scale)
    found += _watcher_rows(document, scale)
    for late in document.get("lateness") or []:
        every = f"{late['daemons']} × {late['interval_ms']:,} ms" + (f", jitter {late['jitter_ms']} ms"
                                                                    if late.get("jitter_ms") else "")
        figure = (f"p50 {number(late['p50_ms'], 'ms')}, p99 {number(late['p99_ms'], 'ms')}" if "p50_ms" in late
                  else "no late_ms in run records")
        if late.get("p99_over_floor") is not None:
            # A burst: beside the floor of as many spawns, measured in the same run.
            figure += (f" ({late['p50_over_floor']:.2f}× and {late['p99_over_floor']:.2f}× the spawn floor, "
                       f"{number(late['spawn_floor_ms'], 'ms')})")
        found.append(Row(f"periodic lateness, {every} (n={late['runs_seen']:,})", figure, [],
                         late.get("target", "p99 < 5 ms"), late.get("p50_ms")))
        found.append(Row(f"periodic runs in {late.get('seconds', 10):g} s, {every}",
                         f"{late['runs_counted']:,} of {late['runs_due']:,} due", [], "all (no drift)",
                         late["runs_counted"], higher_is_better=True))
    for row in document.get("reload") or []:
        # No peer scales live here: supervisord's numprocs changes only by `update`, which restarts the whole group.
        if row["scenario"].startswith("scale from 1 to 20") and row.get("median_ms") is not None:
            found.append(Row(f"scale 1 → 20 replicas, to all running (n={row['runs']})", number(row["median_ms"], "ms"),
                             [], "as up -d with 20 children", row["median_ms"]))
    health = next((row for row in document.get("rpc", []) if row["scenario"].startswith("GET /health")), None)
    if health and health.get("requests_per_s") is not None:
        found.append(Row(f"rpc GET /health (wrk, {scale.wrk_s} s)", f"{health['requests_per_s']:,} req/s", [],
                         "tens of thousands/s", health["requests_per_s"], higher_is_better=True))
    return found


def with_baseline(found: list[Row], baseline_found: list[Row]) -> list[Row]:
    """`found` with each row's baseline figure (the row of the same scenario in `baseline_found`) and the ratio of
    the compared figures, baseline / new: above 1 the new binary is faster, lighter or (for a count or a rate,
    `higher_is_better`) lower. `worse` where the new binary is more than TOLERANCE worse."""
    baselines = {_without_n(row.scenario): row for row in baseline_found}
    compared = []
    for row in found:
        base = baselines.get(_without_n(row.scenario))
        if base is None:
            compared.append(row._replace(baseline="—"))
            continue
        ratio, worse = "", False
        if row.value and base.value is not None:
            quotient = base.value / row.value
            worse = quotient > 1 + TOLERANCE if row.higher_is_better else quotient < 1 / (1 + TOLERANCE)
            ratio = f"{quotient:.2f}×" + (" !" if worse else "")
        compared.append(row._replace(baseline=base.orchestrate, ratio=ratio or "—", worse=worse))
    return compared


def _without_n(scenario: str) -> str:
    """The scenario without its "(n=...)", which counts runs seen and so may differ between the two binaries."""
    return re.sub(r" \(n=[^)]*\)", "", scenario)


def worse(found: list[Row]) -> list[Row]:
    """The rows where the new binary is more than TOLERANCE worse than the baseline."""
    return [row for row in found if row.worse]


def _columns(found: list[Row], labels: tuple[str, str]) -> tuple[list[str], list[list[str]]]:
    """The header and, for each row, the cells before the peers': scenario, orchestrate (and, when the rows have
    a baseline, the two labelled figures and their ratio)."""
    if any(row.baseline for row in found):
        header = ["scenario", f"orchestrate ({labels[0]})", labels[1], "base/new"]
        return header, [[row.scenario, row.orchestrate, row.baseline, row.ratio] for row in found]
    return ["scenario", "orchestrate"], [[row.scenario, row.orchestrate] for row in found]


PEERS_HEADER = "peers (peer/orchestrate)"


def text(found: list[Row], width: int = 120, labels: tuple[str, str] = ("new", "baseline")) -> str:
    """The table for a terminal: the peers' cells on one line when they fit, else one peer a line."""
    header, fronts = _columns(found, labels)
    widths = [max([len(header[index])] + [len(front[index]) for front in fronts]) for index in range(len(header))]
    last = max([len("target")] + [len(row.target) for row in found])
    peers_width = max(20, width - sum(widths) - last - 2 * (len(widths) + 1))
    columns = [*widths, peers_width]

    def line(cells: list[str]) -> str:
        return "  ".join(f"{cell:<{size}}" for cell, size in zip(cells, columns)) + "  " + (
            cells[len(columns)] if len(cells) > len(columns) else "")

    lines = [line([*header, PEERS_HEADER[:peers_width], "target"]), "-" * min(width, sum(columns) + last + 2 * len(columns))]
    for row, front in zip(found, fronts):
        joined = ", ".join(row.peers) or "—"
        cells = [joined] if len(joined) <= peers_width else row.peers
        for index, cell in enumerate(cells):
            if index == 0:
                lines.append(line([*front, cell, row.target]))
            else:
                lines.append(line([""] * len(front) + [cell]))
    return "\n".join(line.rstrip() for line in lines)


def markdown(found: list[Row], labels: tuple[str, str] = ("new", "baseline")) -> str:
    header, fronts = _columns(found, labels)
    header += [PEERS_HEADER, "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, front in zip(found, fronts):
        cells = (*front, "; ".join(row.peers) or "—", row.target)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
