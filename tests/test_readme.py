"""The README's commands that read a run work as written (on the tiny pipeline's folders)."""
import os
import re
import subprocess

import pytest

from tests.conftest import ROOT

SAMPLE = 'nanogpt.sample --start="$(head'  # the README's line that reads a test digit with nanoGPT's sample.py


def readme_sample_command():
    """The README's command that reads the first test digit, or a clear failure: the README must keep it."""
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    found = [line.strip() for line in readme.splitlines() if SAMPLE in line]
    if not found:
        pytest.fail(f"README.md has no line with '{SAMPLE}': it must show how to read the first test digit with "
                    "nanoGPT's sample.py (python -m nanogpt.sample --start=\"$(head -1 data/<data>/test.txt | "
                    "sed ...)\")",
                    pytrace=False)
    return found[0]


def test_the_readme_prompt_for_a_test_digit_reads_it(pipeline):
    cmd = readme_sample_command()
    lines = open(f"{pipeline['data']}/test.txt", encoding='utf-8').read().splitlines()
    k = next(i for i, line in enumerate(lines) if not line.isascii())  # letters of two bytes, as in the default
    # whichever prepared data folder the README names, the tiny pipeline's stands in for it
    cmd = re.sub(r'\\$', '', cmd)
    cmd = re.sub(r'data/[^\s|)"\']*/test\.txt', f"{pipeline['data']}/test.txt", cmd)
    assert f"{pipeline['data']}/test.txt" in cmd, f"the README's command reads no data/<data>/test.txt: {cmd}"
    cmd = cmd.replace('head -1', f'sed -n {k + 1}p')
    cmd = cmd.replace('python -m', f"{os.sys.executable} -m") + f" --out_dir={pipeline['out']}"
    p = subprocess.run(['bash', '-c', cmd + ' --temperature=0 --num_samples=1'], cwd=ROOT, capture_output=True,
                       text=True, env=dict(os.environ, **pipeline['env']))
    assert p.returncode == 0, p.stderr
    first = lines[k]
    prompt = first[:first.index('number:') + len('number:')]
    out = p.stdout.splitlines()[0]
    assert len(prompt) == 6 + 16 + 9 and out.startswith(prompt) and out[len(prompt)] in '0123456789'
