/// Small programs the tests run as daemons.
public enum TestPrograms {
    /// `python3 server.py KIND PORT DELAY`: waits DELAY seconds, binds 127.0.0.1:PORT, prints `listening TIME` (the
    /// Unix time, as a float), and serves: HTTP (200 on `/`, 404 elsewhere) for `http`, bare TCP accepts for `tcp`.
    public static let lateServer = """
        import http.server, socket, sys, time
        kind, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        time.sleep(delay)
        if kind == "http":
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200 if self.path == "/" else 404)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", port), Handler)
            print("listening", repr(time.time()), flush=True)
            server.serve_forever()
        else:
            listener = socket.create_server(("127.0.0.1", port))
            print("listening", repr(time.time()), flush=True)
            while True:
                listener.accept()[0].close()
        """
}
