#!/usr/bin/env python3
"""Writes N key records straight into Redis (in the layout of docs/redis-schema.md) and their
raw keys to a file, for benchmarks that need more keys than `keygate keys create` makes in a
reasonable time. Keys are live secret keys of org `bench`, formed as auth/key_format.h says:
prefix, 34 random base62 characters, 6 characters of CRC-32 over prefix and random part."""
import hashlib, json, secrets, subprocess, sys, time, zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def checksum(value):
    out = []
    for _ in range(6):
        out.append(B62[value % 62])
        value //= 62
    return "".join(reversed(out))


def resp(*words):
    parts = [f"*{len(words)}\r\n".encode()]
    for w in words:
        b = w.encode() if isinstance(w, str) else w
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def main():
    port, count, out_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    prefix, now = "sk_live_", int(time.time())
    commands = [resp("SET", "kg:org:bench",
                     json.dumps({"id": "bench", "plan": "bench", "created_at": now})),
                resp("SADD", "kg:orgs", "bench")]
    with open(out_path, "w") as raw_keys:
        for i in range(count):
            body = "".join(secrets.choice(B62) for _ in range(34))
            key = prefix + body
            key += checksum(zlib.crc32(key.encode()) & 0xFFFFFFFF)
            digest = hashlib.sha256(key.encode()).hexdigest()
            key_id = "key_%024x" % i
            record = {"id": key_id, "hash": digest, "prefix": key[:14], "name": f"k{i}",
                      "org": "bench", "environment": "live", "type": "secret", "scopes": [],
                      "status": "active", "created_at": now, "created_by": "bench",
                      "allowed_cidrs": [], "limit_overrides": [], "successor_id": ""}
            commands.append(resp("SET", f"kg:key:{digest}", json.dumps(record)))
            commands.append(resp("SET", f"kg:keyid:{key_id}", digest))
            commands.append(resp("SADD", "kg:org:bench:keys", key_id))
            raw_keys.write(key + "\n")
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=b"".join(commands),
                   check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
