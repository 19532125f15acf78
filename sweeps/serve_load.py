"""A bounded load test of `make serve` on loopback: the server of eval/serve.py over a trained run, started
here on a free port, and `clients` threads each sending `requests` requests, reads (a test image drawn
large on a 280x280 pad, as PNG) and draws in turn; prints requests per second and the latencies.

    python -m sweeps.serve_load [--out_dir=out/mnist_letters] [--judge_ckpt=out/judge_mnist/ckpt.pt] [--clients=8]

Clients and server share this process (the model's work runs outside Python's lock, in torch), on the
same cores: the numbers are what one machine serves to itself, a floor for a server on its own.
"""
import base64
import http.client
import io
import json
import threading
import time

import numpy as np
from PIL import Image

from common.configurator import configure
from common.runtime import pick_device
from data.pictures import load_split
from eval.judge import JUDGE_CKPT
from eval.serve import load_app, make_server

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_letters'
judge_ckpt = JUDGE_CKPT
clients = 8  # concurrent connections
requests = 50  # per client, reads and draws alternating
n = 16  # images per drawing request: the page's default grid is 18
device = 'auto'
# -----------------------------------------------------------------------------


def pad_pictures(images):
    """Test images drawn large on the page's 280x280 pad, as the page sends them: base64 PNGs."""
    out = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img).resize((280, 280), Image.BILINEAR).save(buf, 'PNG')
        out.append(base64.b64encode(buf.getvalue()).decode())
    return out


def main():
    configure(globals())
    app = load_app(out_dir, judge_ckpt, pick_device(device))
    server = make_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    pictures = pad_pictures(load_split('test', app.vlm.vocab['dataset'])[0][:50])
    times = {'read': [], 'draw': []}
    errors = []

    def client(c):
        for i in range(requests):
            kind = 'read' if (c + i) % 2 == 0 else 'draw'
            body = dict(image=pictures[(c * requests + i) % len(pictures)]) if kind == 'read' else \
                dict(label=(c + i) % 10, n=n)
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
                conn.request('POST', f'/api/{kind}', json.dumps(body), {'Content-Type': 'application/json'})
                r = conn.getresponse()
                data = r.read()
                conn.close()
                if r.status != 200 or 'error' in json.loads(data):
                    errors.append(f"{kind}: {r.status} {data[:100]!r}")
            except (OSError, http.client.HTTPException, ValueError) as e:
                errors.append(f"{kind}: {type(e).__name__}: {e}")
            times[kind].append(time.perf_counter() - t0)  # list.append is atomic: no lock needed

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server.shutdown()
    server.server_close()
    every = np.array(times['read'] + times['draw']) * 1000
    print(f"{out_dir}: {clients} clients x {requests} requests ({len(times['read'])} reads, {len(times['draw'])} draws "
          f"of {n} images) in {wall:.1f} s: {len(every) / wall:.1f} requests/s, {len(errors)} errors; latency ms "
          f"p50 {np.percentile(every, 50):.0f}, p95 {np.percentile(every, 95):.0f}, max {every.max():.0f} "
          f"(read p95 {np.percentile(np.array(times['read']) * 1000, 95):.0f}, "
          f"draw p95 {np.percentile(np.array(times['draw']) * 1000, 95):.0f})")
    for e in errors[:5]:
        print('  ' + e)
    if errors:
        raise SystemExit(f"error: {len(errors)} of {len(every)} requests failed")


if __name__ == '__main__':
    main()
