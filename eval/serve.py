"""Play with a trained run in the browser: draw a digit and have it read, ask for drawings, see the report.

    python -m eval.serve [--out_dir=out/mnist_letters] [--judge_ckpt=out/judge_mnist/ckpt.pt] [--port=8000]
    make serve PORT=8765     # the same over the run and judge of DATASET and IMAGE_INPUT; CPU is plenty

One page (eval/page.html: plain HTML, CSS and JavaScript, nothing fetched from elsewhere) and its
JSON endpoints, on the standard library's ThreadingHTTPServer, bound to 127.0.0.1:
    GET  /                 the page
    GET  /api/info         the run: dataset, labels, what it reads, its tasks, drawing defaults and limits
    GET  /api/run          the report's headline numbers (out_dir/eval/results.json), its figures' names
    GET  /figures/<name>   one of the report's PNGs, by a fixed list of names: no path from a request
                           ever reaches the file system
    POST /api/read         {"image": a PNG or JPEG as base64 or a data: URL} -> the picture made from it
                           (eval/picture.py's load_digit, as `eval.ask` reads files), its letters and their
                           reconstruction, the answer, each label's probability, and the greedy free answer
    POST /api/draw         {"label": 7 or "seven", "temperature": 1.0, "guidance": 1.0, "n": 16, "seed": 1}
                           (all but label optional) -> n drawn images and the judge's reading of each
    POST /api/ask          {"image": ..., "image2": ... (optional), "question": "what is their sum?" (optional)}
                           -> a caption of the picture, or the answer to the question about one picture or
                           two (the VLM's caption and ask), for a run trained on them (`make all TASKS=all`)
Abuse limits: a body over MAX_BODY bytes, a picture over MAX_PIXELS, an unknown key or a value outside
its range is refused with a 4xx and a one-line JSON reason ({"error": "..."}); the server goes on.
Requests from other sites are refused: a Host that is not this server's (DNS rebinding) or an Origin of
another site gets 403, and a POST must say application/json (415), which a cross-site form cannot send
without the browser asking first. A body shorter than its Content-Length is 400, nesting deeper than the
JSON parser goes is 400, and a client that drops its connection is one quiet line in the log.
"""
import base64
import binascii
import io
import json
import math
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch

from common.configurator import configure
from common.runtime import pick_device
from eval.picture import load_digit
from eval.judge import JUDGE_CKPT, load_judge
from nanogpt.engine import GUIDANCE
from nanogpt.vlm import VLM
from tasks.read import READ
from tasks.vocab import letters

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_letters'
judge_ckpt = JUDGE_CKPT  # reads the drawings back; it must judge the run's dataset
host = '127.0.0.1'  # loopback: only this machine reaches the page; '0.0.0.0' would open it to the network
port = 8000  # 0: any free port (the address is printed)
device = 'auto'
# -----------------------------------------------------------------------------
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'page.html')
MAX_BODY = 4 << 20  # bytes of a request: a photo of a digit as base64 fits; larger bodies are refused unread
MAX_PIXELS = 2048 * 2048  # of a picture sent to read, checked from its header before it is decoded
MAX_DRAW = 36  # images per drawing request (a 6x6 grid): a request stays well under a second on 2 cores
MAX_QUESTION = 200  # characters of a question: every template is far shorter, and a record holds fewer still
RANGES = dict(temperature=(0.0, 2.0), guidance=(0.0, 5.0), n=(1, MAX_DRAW), seed=(0, 2 ** 31 - 1))
# the report's figures (eval/report.py and its sections), the only files the server reads besides its page
FIGURES = ('accuracy_vs_iter.png', 'confusion.png', 'generated_first_last.png', 'reconstructions.png',
           'token_histograms.png')


class BadRequest(Exception):

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.status = status


def picture_bytes(body, key='image'):
    """The bytes of a picture in a request (body[key]): base64, with or without a data: URL's head."""
    image = body.get(key)
    if not isinstance(image, str) or not image:
        raise BadRequest(f"send {{\"{key}\": \"<a PNG or JPEG as base64 or a data: URL>\"}}")
    try:
        return base64.b64decode(image.split(',', 1)[1] if image.startswith('data:') else image, validate=True)
    except (binascii.Error, IndexError, ValueError):
        raise BadRequest(f"'{key}' is not valid base64; send a PNG or JPEG as base64 or a data: URL")


def number(body, key, default, integer=False):
    """body[key] (or its default), refused unless it is a number in its range (RANGES)."""
    v = body.get(key, default)
    lo, hi = RANGES[key]
    if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)) or not lo <= v <= hi:
        kind = 'an integer' if integer else 'a number'
        raise BadRequest(f"'{key}' must be {kind} in [{lo}, {hi}], got {json.dumps(v)[:40]}")
    return v


class App:
    """A loaded run and its judge, and what each endpoint answers."""

    def __init__(self, vlm, judge, out_dir):
        self.vlm, self.judge, self.out_dir = vlm, judge, out_dir
        self.eval_dir = os.path.join(out_dir, 'eval')
        self.figures = {name: os.path.join(self.eval_dir, name) for name in FIGURES}
        with open(PAGE, 'rb') as f:
            self.page = f.read()
        # torch already spreads one forward pass over every core: requests queue for the model instead of
        # thrashing it, and no two threads ever share a model call
        self.lock = threading.Lock()

    def info(self):
        m = self.vlm.vocab
        return dict(run=self.out_dir, dataset=m['dataset'], labels=m['labels'], label_key=m['label_key'],
                    image_input=self.vlm.image_input, tasks=m['tasks'], guidance=GUIDANCE, max_draw=MAX_DRAW,
                    ranges=RANGES, max_body=MAX_BODY, max_pixels=MAX_PIXELS,
                    side=self.vlm.tokenizer.config.side, channels=self.vlm.tokenizer.config.channels)

    def digit(self, body, key='image'):
        try:
            return load_digit(io.BytesIO(picture_bytes(body, key)), 'the picture' if key == 'image' else
                              'the second picture', MAX_PIXELS, self.vlm.vocab['dataset'],
                              self.vlm.tokenizer.picture_shape)
        except SystemExit as e:  # load_digit's one-line refusals are the client's to fix
            raise BadRequest(str(e).removeprefix('error: '))

    def read(self, body):
        if set(body) - {'image'}:
            raise BadRequest(f"unknown key(s) {sorted(set(body) - {'image'})}; a read request holds 'image' only")
        vlm, meta = self.vlm, self.vlm.vocab
        digit = self.digit(body)
        with self.lock, torch.no_grad():
            codes = vlm.encode(digit[None])
            recon = vlm.tokenizer.decode(torch.from_numpy(codes).to(vlm.device)).cpu().numpy()[0]
            seen = vlm.see(digit[None])
            scores = READ.scores(vlm.engine(), seen)[0]
            free = READ.free_answers(vlm.engine(), seen)[0]
        probs = torch.softmax(scores, 0)  # over the ten labels only: the constrained answer
        return dict(digit=digit.ravel().tolist(), letters=letters(codes[0], meta),
                    reconstruction=np.round(recon * 255).astype(np.uint8).ravel().tolist(),
                    answer=meta['labels'][int(probs.argmax())], probs=[round(float(p), 5) for p in probs],
                    free_answer=free, question=READ.prompt('<letters>', meta),
                    image_input=vlm.image_input)

    def draw(self, body):
        unknown = set(body) - {'label', 'temperature', 'guidance', 'n', 'seed'}
        if unknown:
            raise BadRequest(f"unknown key(s) {sorted(unknown)}; a draw request holds label, temperature, guidance, "
                             "n and seed")
        if 'draw' not in self.vlm.vocab['tasks']:
            raise BadRequest(f"{self.out_dir} was not trained to draw (its tasks: {', '.join(self.vlm.vocab['tasks'])})")
        labels = self.vlm.vocab['labels']
        label = body.get('label')
        if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(labels):
            index = label
        elif isinstance(label, str) and label in labels:
            index = labels.index(label)
        else:
            raise BadRequest(f"'label' must be one of {json.dumps(labels)} or its index 0-9, got "
                             f"{json.dumps(label)[:40]}")
        temperature, guidance = number(body, 'temperature', 1.0), number(body, 'guidance', GUIDANCE)
        n = number(body, 'n', 16, integer=True)
        seed = number(body, 'seed', None, integer=True) if body.get('seed') is not None else None
        with self.lock, torch.no_grad():
            _, images, ok = self.vlm.draw(np.full(n, index), temperature=temperature, guidance=guidance, seed=seed)
            judged = torch.softmax(self.judge(torch.from_numpy(images).to(self.vlm.device)), 1).cpu()
        p, read = judged.max(1)
        return dict(label=labels[index], images=[im.ravel().tolist() for im in images], well_formed=ok.tolist(),
                    judged=[labels[int(j)] for j in read], judged_p=[round(float(x), 4) for x in p])

    def ask(self, body):
        unknown = set(body) - {'image', 'image2', 'question'}
        if unknown:
            raise BadRequest(f"unknown key(s) {sorted(unknown)}; an ask request holds image, image2 and question")
        question = body.get('question', '')
        if not isinstance(question, str) or len(question) > MAX_QUESTION:
            raise BadRequest(f"'question' must be text of at most {MAX_QUESTION} characters, like 'is it even?'")
        if 'image2' in body and not question.strip():
            raise BadRequest("a second picture needs a question about both, like 'what is their sum?'")
        pictures = [self.digit(body)] + ([self.digit(body, 'image2')] if 'image2' in body else [])
        try:
            with self.lock, torch.no_grad():
                said = self.vlm.ask(pictures, question) if question.strip() else self.vlm.caption(pictures[:1])[0]
                said = said if said is not None else "(no answer ended by '.' within the record length)"
        except SystemExit as e:  # what this run cannot answer: one line for the client
            raise BadRequest(str(e).removeprefix('error: '))
        return dict(task='question' if question.strip() else 'caption', question=question.strip(), answer=said,
                    digits=[p.ravel().tolist() for p in pictures])

    def run(self):
        """The report's headline numbers, as (what, value) rows, and which of its figures exist."""
        path = os.path.join(self.eval_dir, 'results.json')
        figures = [name for name, p in self.figures.items() if os.path.exists(p)]
        try:
            with open(path, encoding='utf-8') as f:
                r = json.load(f)
        except (OSError, ValueError):
            return dict(rows=[], figures=figures, note=f"no report yet ({path}): `make eval` writes it")
        return dict(rows=headline(r), figures=figures, note=f"from {path}")


def headline(r):
    """The headline numbers of a results.json (eval/report.py); what is missing is left out."""
    rows, c, g = [], r.get('classification') or {}, r.get('generation') or {}
    if 'iter_num' in r:
        rows.append(('checkpoint', f"iteration {r['iter_num']}, {r.get('train_seconds', math.nan):.0f} s of training "
                                   f"on {r.get('machine', '?')}"))
    if 'accuracy' in c:
        lo, hi = c['ci95']
        rows.append(('test reading accuracy', f"{c['accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) on {c['n']:,} images, "
                                              f"majority baseline {c.get('majority_baseline', math.nan):.4f}"))
    for key, what in (('guided', 'drawn, read as prompted by the judge (with guidance)'),
                      ('t', 'drawn, read as prompted (plain sampling)'),
                      ('greedy', 'drawn greedily, read as prompted')):
        if key in g:
            d = g[key]
            rows.append((f"{what}, T={d['temperature']}" + (f", w={d['guidance']}" if d.get('guidance') else ''),
                         f"{d['judge_accuracy']:.3f}, FID {d['fid']:.1f}, {d['distinct']} distinct of {d['n']}"))
    if 'tokenizer_ceiling' in r:
        t = r['tokenizer_ceiling']
        rows.append(('VQ-VAE reconstructions (the ceiling)',
                     f"judge reads {t['judge_accuracy']:.4f}, FID {t['fid']:.1f}"))
    if 'judge' in r:
        rows.append(('judge test accuracy', f"{r['judge']['test_accuracy']:.4f}"))
    return rows


def host_of(value):
    """The host of a Host header or an Origin ('http://localhost:8000' -> 'localhost', '[::1]:80' -> '::1')."""
    value = value.strip().lower().split('://', 1)[-1].split('/', 1)[0]
    if value.startswith('['):
        return value[1:value.find(']')] if ']' in value else value
    return value.rsplit(':', 1)[0] if value.count(':') == 1 else value


class Handler(BaseHTTPRequestHandler):
    server_version = 'mnist-vlm'
    timeout = 10  # seconds a client may stall mid-request before its connection is dropped

    def foreign(self):
        """Why the request comes from another site (answered 403), or None: its Host must name this server, and an
        Origin, when a browser sends one, too."""
        allowed = self.server.hosts
        host = self.headers.get('Host')
        if host is None or host_of(host) not in allowed:
            return f"Host {(host or '')[:60]!r} is not this server ({', '.join(sorted(allowed))})"
        origin = self.headers.get('Origin')
        if origin is not None and origin != 'null' and host_of(origin) not in allowed:
            return f"requests from {origin[:60]!r} are not served: only this server's own page asks it"
        return None

    def do_GET(self):
        refused = self.foreign()
        if refused:
            return self.json(403, dict(error=refused))
        app, path = self.server.app, self.path.split('?', 1)[0]
        if path == '/':
            return self.send(200, app.page, 'text/html; charset=utf-8')
        if path == '/api/info':
            return self.json(200, app.info())
        if path == '/api/run':
            return self.json(200, app.run())
        file = app.figures.get(path.removeprefix('/figures/')) if path.startswith('/figures/') else None
        if file and os.path.exists(file):
            with open(file, 'rb') as f:
                return self.send(200, f.read(), 'image/png')
        self.json(404, dict(error=f"no such page: GET {path[:80]}"))

    def do_POST(self):
        app = self.server.app
        route = {'/api/read': app.read, '/api/draw': app.draw, '/api/ask': app.ask}.get(self.path)
        try:
            refused = self.foreign()
            if refused:
                self.close_connection = True  # the body stays unread
                raise BadRequest(refused, 403)
            if route is None:
                raise BadRequest(f"no such endpoint: POST {self.path[:80]}", 404)
            kind = (self.headers.get('Content-Type') or '').split(';', 1)[0].strip().lower()
            if kind != 'application/json':
                self.close_connection = True
                raise BadRequest(f"send the body as Content-Type: application/json, not {kind[:40]!r}", 415)
            self.json(200, route(self.body()))
        except BadRequest as e:
            self.json(e.status, dict(error=str(e)))
        except Exception as e:  # a bug must not stop the server: one line to the client and to the log
            self.log_message('error in POST %s: %s: %s', self.path[:80], type(e).__name__, str(e)[:200])
            self.json(500, dict(error=f"internal error ({type(e).__name__}); the server's log has its line"))

    def body(self):
        """The request's JSON object, read only when its declared length is within MAX_BODY."""
        length = self.headers.get('Content-Length')
        if length is None:
            raise BadRequest("send the body with a Content-Length", 411)
        if not length.isdigit():
            raise BadRequest(f"bad Content-Length {length[:20]!r}")
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body stays unread
            raise BadRequest(f"request body of {int(length):,} bytes; at most {MAX_BODY:,}", 413)
        try:
            raw = self.rfile.read(int(length))
        except (TimeoutError, OSError):
            self.close_connection = True
            raise BadRequest(f"the body did not come within {self.timeout} s; send all {int(length):,} bytes", 408)
        if len(raw) < int(length):
            self.close_connection = True
            raise BadRequest(f"the body ended after {len(raw):,} of the {int(length):,} bytes its Content-Length says")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not JSON; send a JSON object")
        except RecursionError:
            raise BadRequest("the JSON is nested too deeply; a request is one flat object")
        if not isinstance(body, dict):
            raise BadRequest("send a JSON object ({...})")
        return body

    def send_error(self, code, message=None, explain=None):
        # the standard library's own refusals (a malformed request line, an unsupported method) as JSON too,
        # with a status line even where the request line was too garbled to name its HTTP version
        self.close_connection, self.request_version = True, 'HTTP/1.0'
        self.json(code, dict(error=message or HTTPStatus(code).phrase))

    def json(self, status, obj):
        self.send(status, json.dumps(obj).encode(), 'application/json')

    def send(self, status, data, content_type):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Content-Type-Options', 'nosniff')
        # the page loads nothing from elsewhere, and the browser holds it to that
        self.send_header('Content-Security-Policy', "default-src 'self' 'unsafe-inline' data: blob:")
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def log_request(self, code='-', size='-'):
        if str(code).isdigit() and int(code) >= 400:  # refusals only: a working page makes many requests
            self.log_message('"%s" %s', self.requestline[:120], code)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # connections waiting to be accepted: a burst of clients is queued, not dropped

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):  # a client that went away: nothing to fix here
            print(f"{client_address[0]}: the client dropped its connection ({type(error).__name__})", file=sys.stderr)
            return
        super().handle_error(request, client_address)


def load_app(out_dir, judge_ckpt, device='cpu'):
    """The run and its judge, or one line that says which `make` target writes what is missing."""
    if not os.path.exists(os.path.join(out_dir, 'config.json')):
        raise SystemExit(f"error: {out_dir}/config.json not found; train the run first with `make all` (with the "
                         "DATASET= and IMAGE_INPUT= of the run to serve)")
    vlm = VLM.from_pretrained(out_dir, device=device)
    if 'read' not in vlm.vocab['tasks']:
        raise SystemExit(f"error: {out_dir} was not trained to read images (its tasks: "
                         f"{', '.join(vlm.vocab['tasks'])}); serve a run of `make all`")
    if not os.path.exists(judge_ckpt):
        raise SystemExit(f"error: {judge_ckpt} not found; train the judge first with `make judge` (with the "
                         "DATASET= of the run)")
    judge = load_judge(judge_ckpt, device, train_if_missing=False, dataset=vlm.vocab['dataset'])
    return App(vlm, judge, out_dir)


def make_server(app, host='127.0.0.1', port=0):
    try:
        server = Server((host, port), Handler)
    except OSError as e:
        raise SystemExit(f"error: cannot listen on {host}:{port} ({e.strerror or e}); pick another port with "
                         "--port= (make serve PORT=...)")
    server.app = app
    # the names this server answers to: a page that another name resolves here (DNS rebinding) is another site's
    server.hosts = {'127.0.0.1', 'localhost', '::1', host_of(host)} - {'', '0.0.0.0', '::'}
    return server


def main():
    configure(globals())
    app = load_app(out_dir, judge_ckpt, pick_device(device))
    server = make_server(app, host, port)
    h, p = server.server_address[:2]
    print(f"serving {out_dir} ({app.vlm.vocab['dataset']}, reads {app.vlm.image_input}) at http://{h}:{p}/ "
          "(Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
