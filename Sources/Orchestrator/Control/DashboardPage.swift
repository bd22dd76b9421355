/// The dashboard `control.http` serves at `/`: one page, its style and its script, embedded here so that nothing is
/// fetched from elsewhere and nothing is built. The script reads `GET /v1/status`, then follows the Server-Sent
/// Events of `GET /v1/events` (read through `fetch`, which can carry the API key where `EventSource` cannot) and
/// reconnects by itself; the only timer is the page's own, for the countdowns. With an API key, the page asks for it
/// once and keeps it in the tab's session storage.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>orchestrate</title>
        <link rel="icon" href="/dashboard.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/dashboard.css">
        <script src="/dashboard.js" defer></script>
        </head>
        <body>
        <header>
          <h1>orchestrate</h1>
          <p id="supervisor">connecting…</p>
          <p id="connection" class="connection" role="status" aria-live="polite"></p>
          <button id="reload" type="button" title="Apply the manifest now">Reload</button>
        </header>
        <form id="key" hidden>
          <label for="key-input">This supervisor needs its control API key:</label>
          <input id="key-input" type="password" autocomplete="off" required>
          <button type="submit">Use it</button>
        </form>
        <section id="last-reload" aria-live="polite"></section>
        <p id="message" role="status" aria-live="polite"></p>
        <main>
          <table id="daemons">
            <thead>
              <tr>
                <th scope="col">Daemon</th><th scope="col">Kind</th><th scope="col">State</th>
                <th scope="col" class="number">Runs</th><th scope="col" class="number">Failures</th>
                <th scope="col" class="number">Restarts</th><th scope="col">Last run</th>
                <th scope="col">Next run</th><th scope="col" class="wide">PIDs</th>
                <th scope="col" class="wide">Depends on</th><th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </main>
        <section id="log" hidden>
          <h2 id="log-title">Log</h2>
          <pre id="log-lines" tabindex="0"></pre>
        </section>
        </body>
        </html>
        """#

    /// The tab's icon: three dots in a row, the daemons.
    static let icon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1a7f37"/>
        <circle cx="8" cy="16" r="4" fill="#fff"/><circle cx="16" cy="16" r="4" fill="#fff"/><circle cx="24" cy="16" r="4" fill="#fff"/></svg>
        """#

    static let css = #"""
        :root { --bg: #fff; --fg: #1d2126; --muted: #5b6470; --line: #d9dde3; --row: #f4f6f8; --ok: #1a7f37;
          --warn: #9a6700; --bad: #cf222e; --info: #0969da; --select: #ddf4ff; font-family: system-ui, sans-serif; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --row: #161b22; --ok: #3fb950;
            --warn: #d29922; --bad: #f85149; --info: #58a6ff; --select: #1f3a5f; }
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; padding: 1rem; background: var(--bg); color: var(--fg); font-size: 15px; }
        header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; }
        h1 { font-size: 1.3rem; margin: 0; }
        h2 { font-size: 1rem; margin: 1rem 0 .5rem; }
        #supervisor, .connection { color: var(--muted); margin: 0; }
        .connection.down { color: var(--bad); }
        #reload { margin-left: auto; }
        button { font: inherit; padding: .25rem .6rem; border: 1px solid var(--line); border-radius: 6px;
          background: var(--row); color: var(--fg); cursor: pointer; }
        button:hover, button:focus-visible { border-color: var(--info); }
        button:focus-visible, tr:focus-visible, pre:focus-visible { outline: 2px solid var(--info); outline-offset: 1px; }
        #key { margin: 1rem 0; display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
        #key input { font: inherit; padding: .25rem; }
        #last-reload { margin: .75rem 0; padding: .5rem .75rem; border-left: 4px solid var(--line); }
        #last-reload.ok { border-color: var(--ok); }
        #last-reload.failed { border-color: var(--bad); }
        #last-reload ul { margin: .25rem 0 0; padding-left: 1.2rem; font-family: ui-monospace, monospace; font-size: .9em; }
        #message { min-height: 1.2em; color: var(--muted); }
        main { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
        th { color: var(--muted); font-weight: 600; }
        td.number, th.number { text-align: right; }
        tbody tr { cursor: pointer; }
        tbody tr:hover { background: var(--row); }
        tbody tr.selected { background: var(--select); }
        .state { font-weight: 600; }
        .state::before { content: "●"; margin-right: .3em; }
        .state.running, .state.idle, .state.completed { color: var(--ok); }
        .state.starting, .state.waiting, .state.stopping, .state.backoff { color: var(--warn); }
        .state.failed { color: var(--bad); }
        .state.stopped, .state.disabled { color: var(--muted); }
        .error { color: var(--bad); white-space: normal; font-size: .9em; }
        div.actions { display: flex; gap: .3rem; }
        #log pre { background: var(--row); border: 1px solid var(--line); padding: .5rem; max-height: 40vh;
          overflow: auto; font-size: .85em; margin: 0; }
        @media (max-width: 700px) {
          body { padding: .5rem; font-size: 14px; }
          .wide { display: none; }
          th, td { padding: .3rem .35rem; }
          div.actions { flex-wrap: wrap; }
        }
        """#

    /// The script, with the names of the kinds that run on trigger (`TRIGGERED_KINDS`, a JSON array) filled in.
    static func javascript(triggered kinds: [String]) -> String {
        let list = "[" + kinds.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return script.replacing("TRIGGERED_KINDS", with: list)
    }

    private static let script = #"""
        "use strict";
        // The kinds that run on trigger, written in by the server.
        const triggered = new Set(TRIGGERED_KINDS);
        const state = { document: null, selected: null, key: sessionStorage.getItem("orchestrate-key"),
          events: null, log: null };
        const $ = (id) => document.getElementById(id);

        function headers() { return state.key ? { Authorization: "Bearer " + state.key } : {}; }

        async function api(method, path) {
          const response = await fetch(path, { method, headers: headers() });
          if (response.status === 401) { askForKey(); throw new Error("the API key is needed"); }
          return response;
        }

        function askForKey() {
          sessionStorage.removeItem("orchestrate-key");
          state.key = null;
          $("key").hidden = false;
          $("key-input").focus();
        }

        $("key").addEventListener("submit", (event) => {
          event.preventDefault();
          state.key = $("key-input").value;
          sessionStorage.setItem("orchestrate-key", state.key);
          $("key").hidden = true;
          connect();
        });

        function relative(iso) {
          if (!iso) return "-";
          const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
          const size = Math.abs(seconds);
          if (size === 0) return "now";
          const text = size < 60 ? size + "s" : size < 3600 ? Math.floor(size / 60) + "m" + (size % 60) + "s"
            : Math.floor(size / 3600) + "h" + Math.floor(size % 3600 / 60) + "m";
          return seconds < 0 ? text + " ago" : "in " + text;
        }

        function lastRun(run) {
          if (!run) return "-";
          const when = relative(run.started_at);
          if (run.duration_ms == null) return when + ", running";
          if (run.timed_out) return when + ", timed out";
          if (run.exit_code != null) return when + ", exit " + run.exit_code + ", " + run.duration_ms + " ms";
          return when + ", signal " + run.signal;
        }

        function cell(row, text, className) {
          const td = document.createElement("td");
          td.textContent = text;
          if (className) td.className = className;
          row.appendChild(td);
          return td;
        }

        function button(label, action, name) {
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = label;
          b.dataset.action = action;
          b.setAttribute("aria-label", label + " " + name);
          b.addEventListener("click", (event) => { event.stopPropagation(); act(name, action); });
          return b;
        }

        function render() {
          const doc = state.document;
          if (!doc) return;
          const s = doc.supervisor;
          $("supervisor").textContent = s.manifest + " · pid " + s.pid + " · started " + relative(s.started_at);
          renderReload(doc.last_reload);
          const body = document.querySelector("#daemons tbody");
          body.replaceChildren();
          for (const d of doc.daemons) {
            const row = document.createElement("tr");
            row.dataset.daemon = d.name;
            row.tabIndex = 0;
            if (d.name === state.selected) row.classList.add("selected");
            row.addEventListener("click", () => select(d.name));
            row.addEventListener("keydown", (event) => { if (event.key === "Enter") select(d.name); });
            cell(row, d.name).className = "name";
            cell(row, d.kind);
            const st = cell(row, d.state, "state " + d.state);
            st.dataset.state = d.state;
            cell(row, String(d.runs), "number runs");
            cell(row, String(d.failures), "number failures");
            cell(row, String(d.restarts), "number restarts");
            cell(row, lastRun(d.last_run), "last-run");
            cell(row, d.next_run ? relative(d.next_run) : "-", "next-run").dataset.at = d.next_run || "";
            cell(row, d.pids.join(", ") || "-", "wide");
            cell(row, (d.depends_on || []).join(", ") || "-", "wide");
            const actions = document.createElement("div");
            actions.className = "actions";
            cell(row, "").appendChild(actions);
            if (triggered.has(d.kind)) actions.appendChild(button("Trigger", "trigger", d.name));
            actions.appendChild(button("Start", "start", d.name));
            actions.appendChild(button("Stop", "stop", d.name));
            actions.appendChild(button("Restart", "restart", d.name));
            body.appendChild(row);
            if (d.last_error && (d.state === "failed" || d.state === "backoff")) {
              const note = document.createElement("tr");
              const td = cell(note, "last error: " + d.last_error, "error");
              td.colSpan = 11;
              body.appendChild(note);
            }
          }
        }

        function renderReload(reload) {
          const box = $("last-reload");
          box.replaceChildren();
          box.className = "";
          if (!reload) return;
          const line = document.createElement("div");
          if (reload.ok) {
            box.className = "ok";
            const p = reload.plan || {};
            const parts = [["added", p.added], ["changed", p.changed], ["removed", p.removed]]
              .filter(([, names]) => names && names.length).map(([w, names]) => w + " " + names.join(", "));
            line.textContent = "Last reload " + relative(reload.at) + " (" + reload.trigger + "): applied" +
              (parts.length ? ", " + parts.join("; ") : ", nothing changed");
            box.appendChild(line);
          } else {
            box.className = "failed";
            line.textContent = "Last reload " + relative(reload.at) + " (" + reload.trigger +
              "): not applied; the daemons run the last valid version";
            box.appendChild(line);
            const list = document.createElement("ul");
            for (const error of reload.errors) {
              const item = document.createElement("li");
              item.textContent = error;
              list.appendChild(item);
            }
            box.appendChild(list);
          }
        }

        function tick() {
          for (const td of document.querySelectorAll("td.next-run")) {
            if (td.dataset.at) td.textContent = relative(td.dataset.at);
          }
          if (state.document) {
            for (const d of state.document.daemons) {
              const row = document.querySelector('tr[data-daemon="' + CSS.escape(d.name) + '"] td.last-run');
              if (row) row.textContent = lastRun(d.last_run);
            }
          }
        }

        async function act(name, action) {
          $("message").textContent = action + " " + name + "…";
          try {
            const response = await api("POST", "/v1/daemons/" + encodeURIComponent(name) + "/" + action);
            const body = await response.json();
            $("message").textContent = response.ok ? name + ": " + action + (body.outcome ? " " + body.outcome : " done")
              : name + ": " + (body.error || response.status);
          } catch (error) { $("message").textContent = name + ": " + error.message; }
        }

        $("reload").addEventListener("click", async () => {
          $("message").textContent = "reloading…";
          try {
            const response = await api("POST", "/v1/reload");
            const body = await response.json();
            $("message").textContent = body.ok ? "reloaded" : "not reloaded: the manifest is not valid";
          } catch (error) { $("message").textContent = "not reloaded: " + error.message; }
        });

        function apply(line) {
          const doc = state.document;
          if (!doc) return;
          if (line.event === "daemon") {
            const index = doc.daemons.findIndex((d) => d.name === line.data.name);
            if (index >= 0) {
              line.data.depends_on = doc.daemons[index].depends_on;
              doc.daemons[index] = line.data;
            } else { doc.daemons.push(line.data); }
          } else if (line.event === "removed") {
            doc.daemons = doc.daemons.filter((d) => d.name !== line.data.name);
          } else if (line.event === "reload") {
            doc.last_reload = line.data;
            if (line.data.ok) { loadStatus(); return; }
          } else { return; }
          render();
        }

        async function loadStatus() {
          const response = await api("GET", "/v1/status");
          state.document = await response.json();
          if (!state.selected && state.document.daemons.length) select(state.document.daemons[0].name);
          render();
        }

        async function lines(response, onLine, signal) {
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let pending = "";
          while (!signal.aborted) {
            const { value, done } = await reader.read();
            if (done) return;
            pending += decoder.decode(value, { stream: true });
            let end;
            while ((end = pending.indexOf("\n")) >= 0) {
              onLine(pending.slice(0, end));
              pending = pending.slice(end + 1);
            }
          }
        }

        async function connect(wait = 0) {
          if (state.events) state.events.abort();
          const controller = new AbortController();
          state.events = controller;
          if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
          try {
            await loadStatus();
            const response = await fetch("/v1/events?records=false",
              { headers: headers(), signal: controller.signal });
            if (response.status === 401) { askForKey(); return; }
            $("connection").textContent = "live";
            $("connection").classList.remove("down");
            if (state.selected) follow(state.selected);
            // Server-Sent Events, read through fetch (EventSource cannot send the key): an event's `event:` and
            // `data:` lines, then an empty line.
            let name = null;
            let data = null;
            await lines(response, (text) => {
              if (text.startsWith("event: ")) name = text.slice(7);
              else if (text.startsWith("data: ")) data = text.slice(6);
              else if (text === "" && name && data) {
                apply({ event: name, data: JSON.parse(data) });
                name = data = null;
              }
            }, controller.signal);
          } catch (error) {
            if (controller.signal.aborted || !$("key").hidden) return;
          }
          if (controller.signal.aborted) return;
          $("connection").textContent = "reconnecting…";
          $("connection").classList.add("down");
          connect(Math.min(Math.max(wait * 2, 500), 5000));
        }

        function select(name) {
          state.selected = name;
          for (const row of document.querySelectorAll("tbody tr[data-daemon]")) {
            row.classList.toggle("selected", row.dataset.daemon === name);
          }
          follow(name);
        }

        async function follow(name) {
          if (state.log) state.log.abort();
          const controller = new AbortController();
          state.log = controller;
          $("log").hidden = false;
          $("log-title").textContent = "Log: " + name;
          const pre = $("log-lines");
          pre.textContent = "";
          try {
            const response = await fetch("/v1/daemons/" + encodeURIComponent(name) + "/log?lines=100&follow=true",
              { headers: headers(), signal: controller.signal });
            if (!response.ok) return;
            await lines(response, (text) => {
              const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
              pre.textContent += text + "\n";
              if (pre.textContent.length > 200000) pre.textContent = pre.textContent.slice(-100000);
              if (atEnd) pre.scrollTop = pre.scrollHeight;
            }, controller.signal);
          } catch (error) { /* aborted, or the supervisor went: the event stream reconnects */ }
        }

        setInterval(tick, 1000);
        connect();
        """#
}
