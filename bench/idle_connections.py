#!/usr/bin/env python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one GET of PATH on each and reads
its answer, then holds them all idle until its standard input closes. Prints "ready N" when
every connection has had its answer. Used by bench/run.sh to measure what an idle
connection costs keygate."""
import resource, socket, sys

port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, count + 256))
request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
held = []
for start in range(0, count, 500):  # in batches, so no accept queue overflows
    batch = [socket.create_connection(("127.0.0.1", port), timeout=10)
             for _ in range(min(500, count - start))]
    for s in batch:
        s.sendall(request)
    for s in batch:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit(f"connection closed after {len(held)} connections")
            data += chunk
    held.extend(batch)
print(f"ready {len(held)}", flush=True)
sys.stdin.read()
