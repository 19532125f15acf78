"""The README's commands that read a run work as written (on the tiny pipeline's folders)."""
import os
import re
import subprocess

from tests.conftest import ROOT


def test_the_readme_prompt_for_a_test_digit_reads_it(pipeline):
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    cmd = next(line for line in readme.splitlines() if 'nanogpt.sample --start="$(head' in line).strip()
    lines = open(f"{pipeline['data']}/test.txt", encoding='utf-8').read().splitlines()
    k = next(i for i, line in enumerate(lines) if not line.isascii())  # letters of two bytes, as in the default
    cmd = re.sub(r'\\$', '', cmd).replace('data/mnist_vlm/test.txt', f"{pipeline['data']}/test.txt")
    cmd = cmd.replace('head -1', f'sed -n {k + 1}p')
    cmd = cmd.replace('python -m', f"{os.sys.executable} -m") + f" --out_dir={pipeline['out']}"
    p = subprocess.run(['bash', '-c', cmd + ' --temperature=0 --num_samples=1'], cwd=ROOT, capture_output=True,
                       text=True, env=dict(os.environ, **pipeline['env']))
    assert p.returncode == 0, p.stderr
    first = lines[k]
    prompt = first[:first.index('number:') + len('number:')]
    out = p.stdout.splitlines()[0]
    assert len(prompt) == 6 + 16 + 9 and out.startswith(prompt) and out[len(prompt)] in '0123456789'
