"""The page's server (eval/serve.py) over the tiny trained run: its endpoints, good and bad requests."""
import base64
import http.client
import io
import json
import os
import re
import shutil
import socket
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from eval.serve import FIGURES, MAX_BODY, load_app
from tests.conftest import draw_digits


def request(url, method, path, body=None, headers=None):
    """(status, headers, bytes) of one request; body: a dict (sent as JSON) or bytes. A POST says it is JSON, as
    the page's do, unless `headers` says otherwise."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    headers = dict({'Content-Type': 'application/json'} if method == 'POST' else {}, **(headers or {}))
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    conn.close()
    return out


def png(array, mode=None):
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, 'PNG')
    return base64.b64encode(buf.getvalue()).decode()


def drawn_seven(size=280):
    """A seven of the test data, large as on the page's pad."""
    img = draw_digits([7], np.random.default_rng(0))[0]
    return np.asarray(Image.fromarray(img).resize((size, size)))


def test_page_info_report_and_figures(served):
    status, headers, page = request(served, 'GET', '/')
    assert status == 200 and headers['Content-Type'].startswith('text/html') and b'<canvas id="pad"' in page
    # offline: no script, style, font or image from another host
    assert not re.search(rb'(src|href)\s*=\s*["\']?(https?:)?//', page) and b'@import' not in page
    status, _, info = request(served, 'GET', '/api/info')
    info = json.loads(info)
    assert status == 200 and info['labels'] == list('0123456789') and info['tasks'] == ['read', 'draw']
    run = json.loads(request(served, 'GET', '/api/run')[2])
    assert any(what == 'test reading accuracy' for what, _ in run['rows']) and set(run['figures']) <= set(FIGURES)
    for name in run['figures']:
        status, headers, data = request(served, 'GET', f'/figures/{name}')
        assert status == 200 and headers['Content-Type'] == 'image/png' and data[:4] == b'\x89PNG'


def test_read_a_drawing(served):
    for image in (png(drawn_seven()), 'data:image/png;base64,' + png(drawn_seven())):
        status, _, body = request(served, 'POST', '/api/read', dict(image=image))
        r = json.loads(body)
        assert status == 200 and len(r['digit']) == 784 and len(r['reconstruction']) == 784
        assert len(r['letters']) == 16 and r['answer'] in '0123456789' and len(r['probs']) == 10
        assert abs(sum(r['probs']) - 1) < 1e-3 and r['question'] == 'image:<letters>, number:'
    digit = np.array(r['digit']).reshape(28, 28)
    rows, cols = np.nonzero(digit > 64)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20  # MNIST's 20x20 box


def test_draw_a_label(served):
    status, _, body = request(served, 'POST', '/api/draw', dict(label=3, n=4, temperature=0.7, guidance=1.0, seed=1))
    r = json.loads(body)
    assert status == 200 and r['label'] == '3' and len(r['images']) == 4 and len(r['images'][0]) == 784
    assert all(j in '0123456789' for j in r['judged']) and all(0 <= p <= 1 for p in r['judged_p'])
    again = json.loads(request(served, 'POST', '/api/draw', dict(label='3', n=4, temperature=0.7, seed=1))[2])
    assert again['images'] == r['images']  # a seed draws the same images


@pytest.mark.parametrize('path,body,headers,status,reason', [
    ('/api/read', b'{"image": ', {}, 400, 'not JSON'),
    ('/api/read', b'[1, 2]', {}, 400, 'JSON object'),
    ('/api/read', b'\xff\xfe', {}, 400, 'not JSON'),
    ('/api/read', {}, {}, 400, 'send {"image"'),
    ('/api/read', dict(image='x', path='/etc/passwd'), {}, 400, "unknown key(s) ['path']"),
    ('/api/read', dict(image='not base64!'), {}, 400, 'not valid base64'),
    ('/api/read', dict(image=base64.b64encode(b'GIF89a but not really').decode()), {}, 400, 'not a readable image'),
    ('/api/read', dict(image=png(np.zeros((20, 20), np.uint8))), {}, 400, 'at least 28x28'),
    ('/api/read', dict(image=png(np.zeros((60, 60), np.uint8))), {}, 400, 'shows no ink'),
    ('/api/read', dict(image=png(np.zeros((3000, 3000), np.uint8))), {}, 400, 'shrink it first'),
    ('/api/read', b'{}', {'Content-Length': str(MAX_BODY + 1)}, 413, 'at most'),
    ('/api/draw', dict(label=11), {}, 400, "'label' must be one of"),
    ('/api/draw', dict(label='eleven'), {}, 400, "'label' must be one of"),
    ('/api/draw', dict(label=1, temperature=9), {}, 400, "'temperature' must be a number in [0.0, 2.0]"),
    ('/api/draw', dict(label=1, temperature=True), {}, 400, "'temperature' must be"),
    ('/api/draw', b'{"label": 1, "guidance": NaN}', {}, 400, "'guidance' must be"),
    ('/api/draw', dict(label=1, n=100000), {}, 400, "'n' must be an integer in [1, 36]"),
    ('/api/draw', dict(label=1, n=2.5), {}, 400, "'n' must be an integer"),
    ('/api/draw', dict(label=1, steps=10), {}, 400, "unknown key(s) ['steps']"),
    ('/api/nothing', {}, {}, 404, 'no such endpoint'),
    # another site's requests: a cross-site form (text/plain), a page under another name (DNS rebinding), a page
    # of another origin
    ('/api/read', b'{"image": "x"}', {'Content-Type': 'text/plain'}, 415, 'application/json'),
    ('/api/read', b'{"image": "x"}', {'Content-Type': 'application/x-www-form-urlencoded'}, 415, 'application/json'),
    ('/api/draw', dict(label=1), {'Host': 'evil.example:8000'}, 403, "Host 'evil.example:8000' is not this server"),
    ('/api/draw', dict(label=1), {'Origin': 'http://evil.example'}, 403, "requests from 'http://evil.example'"),
    ('/api/read', b'[' * 100000 + b']' * 100000, {}, 400, 'nested too deeply'),
])
def test_bad_posts_get_one_line_and_the_server_goes_on(served, path, body, headers, status, reason):
    got, h, data = request(served, 'POST', path, body, headers)
    error = json.loads(data)['error']
    assert got == status and h['Content-Type'] == 'application/json' and reason in error and '\n' not in error
    assert request(served, 'GET', '/api/info')[0] == 200


def test_asking_a_run_without_captions_or_questions_is_one_line(served):
    seven = png(drawn_seven())
    for body, reason in ((dict(image=seven), 'did not learn the caption task'),
                         (dict(image=seven, question='is it even?'), 'did not learn the question task'),
                         (dict(image=seven, image2=seven), 'a second picture needs a question'),
                         (dict(image=seven, question=7), "'question' must be text"),
                         (dict(image=seven, image2='!!', question='what is their sum?'),
                          "'image2' is not valid base64"),
                         (dict(image=seven, mood='happy'), "unknown key(s) ['mood']")):
        got, _, data = request(served, 'POST', '/api/ask', body)
        error = json.loads(data)['error']
        assert got == 400 and reason in error and '\n' not in error


def test_another_sites_page_and_names_get_403(served):
    for headers in ({'Host': 'rebound.example'}, {'Host': 'rebound.example:1234'}, {'Origin': 'http://evil.example'}):
        status, _, data = request(served, 'GET', '/api/info', headers=headers)
        assert status == 403 and '\n' not in json.loads(data)['error']
    port = urlparse(served).port
    for host in (f'localhost:{port}', f'127.0.0.1:{port}', 'localhost'):
        assert request(served, 'GET', '/api/info', headers={'Host': host})[0] == 200
    assert request(served, 'GET', '/', headers={'Origin': f'http://localhost:{port}'})[0] == 200


def test_a_short_body_is_400_and_a_dropped_client_leaves_the_server_serving(served, capfd):
    u = urlparse(served)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(b'POST /api/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                  b'Content-Length: 100\r\n\r\n{"image": ')
        s.shutdown(socket.SHUT_WR)  # the client stops sending: 90 bytes never come
        reply = b''
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.0 400') and 'ended after 10 of the 100 bytes' in json.loads(body)['error']
    for _ in range(5):  # clients that go away before their drawings come back
        s = socket.create_connection((u.hostname, u.port), timeout=30)
        s.sendall(b'POST /api/draw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                  b'Content-Length: 12\r\n\r\n{"label": 1}')
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')  # reset on close
        s.close()
    assert request(served, 'GET', '/api/info')[0] == 200
    assert 'Traceback' not in capfd.readouterr().err


@pytest.mark.parametrize('path', ['/figures/../ckpt.pt', '/figures/..%2Fckpt.pt', '/figures/%2e%2e/ckpt.pt',
                                  '/figures/report.md', '/figures/results.json', '/../../etc/passwd', '/serve.py',
                                  '/eval/page.html', '/figures/', '//etc/passwd'])
def test_only_the_page_and_the_listed_figures_are_served(served, path):
    status, _, data = request(served, 'GET', path)
    assert status == 404 and 'no such page' in json.loads(data)['error']


def test_malformed_requests_get_json_4xx(served):
    u = urlparse(served)
    for raw in (b'GARBAGE\r\n\r\n', b'POST /api/read HTTP/1.1\r\nHost: x\r\n\r\n', b'GET / HTTP/1.x\r\n\r\n'):
        with socket.create_connection((u.hostname, u.port), timeout=30) as s:
            s.sendall(raw)
            reply = b''
            while chunk := s.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b'\r\n\r\n')
        assert re.match(rb'HTTP/1\.\d 4\d\d ', head) and 'error' in json.loads(body), reply[:200]
    assert request(served, 'PUT', '/api/read', b'{}')[0] == 501
    assert request(served, 'GET', '/api/info')[0] == 200


def test_startup_without_a_run_or_judge_is_one_line(pipeline, report, tmp_path):
    damaged = tmp_path / 'damaged'  # a copy of the run whose weights were changed after it was saved
    damaged.mkdir()
    for name in ('config.json', 'model.safetensors', 'tokenizer.safetensors', 'vocab.json'):
        shutil.copy(os.path.join(pipeline['out'], name), damaged / name)
    with open(damaged / 'model.safetensors', 'ab') as f:
        f.write(b'\0')
    for out, judge, message in ((str(damaged), 'j.pt', 'model.safetensors was changed or damaged'),
                                (str(tmp_path), 'j.pt', 'config.json not found; train the run first with `make all`'),
                                (pipeline['vqvae'], 'j.pt', 'config.json not found; train the run first'),
                                (pipeline['out'], str(tmp_path / 'j.pt'), 'train the judge first with `make judge`')):
        with pytest.raises(SystemExit) as e:
            load_app(out, judge)
        assert message in str(e.value) and '\n' not in str(e.value)


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.sampled_from(['image', 'image2', 'question', 'label', 'temperature', 'guidance', 'n', 'seed'])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(['/api/read', '/api/draw', '/api/ask']),
       JSON | st.dictionaries(FIELDS, JSON | st.integers(0, 12), max_size=4))
def test_any_json_gets_an_answer_or_one_line_4xx_never_a_500(served, path, body):
    status, headers, data = request(served, 'POST', path, json.dumps(body).encode())
    answer = json.loads(data)
    assert status == 200 or (400 <= status < 500 and '\n' not in answer['error']), (status, answer)
