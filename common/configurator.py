"""nanoGPT-style configuration: plain globals, overridden by config files and --key=value.

Every script declares its settings as module globals, then calls
`configure(globals())` (nanoGPT exec()s configurator.py instead; a function
lets every stage share it without climbing the pipeline). Positional arguments
are config files (Python that assigns globals); `--key=value` arguments
override single keys. A key the script does not declare, a value of the wrong
type, or one outside its range (RANGES, by key name, for every script) is an
error in one line, raised before the script touches a file: a typo must never
silently train the wrong model or cost a trained one.
"""
import re
import sys
from ast import literal_eval

CONFIG_TYPES = (bool, int, float, str)
# the range of every setting whose name says what it counts, wherever it appears
COUNTS = ('batch_size', 'max_iters', 'lr_decay_iters', 'eval_interval', 'eval_iters', 'log_interval', 'val_images',
          'gradient_accumulation_steps', 'n_layer', 'n_head', 'n_embd', 'num_codes', 'tokens_per_image', 'code_dim',
          'hidden', 'num_samples', 'max_new_tokens', 'n_per_digit', 'n', 'epochs', 'steps', 'n_generate',
          'clients', 'requests')
RANGES = {
    **{k: (lambda v: v >= 1, 'at least 1') for k in COUNTS},
    **{k: (lambda v: v >= 0, 'at least 0') for k in (
        'learning_rate', 'min_lr', 'weight_decay', 'grad_clip', 'warmup_iters', 'keep_last', 'threads', 'temperature',
        'low_temperature', 'top_k', 'guidance', 'augment_copies', 'max_shift', 'max_rotate', 'commitment')},
    'dropout': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'decay': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'beta1': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'beta2': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'text_share': (lambda v: 0 <= v <= 1, 'in [0, 1]'),
    'labels': (lambda v: v in ('digits', 'words'), 'digits or words'),
    'text': (lambda v: v in ('', 'shakespeare'), "'' (none) or shakespeare"),
    'digit': (lambda v: 0 <= v <= 9, 'a digit 0-9'),
    'device': (lambda v: re.fullmatch(r'auto|cpu|mps|cuda(:\d+)?', v) is not None, "auto, cpu, mps, cuda or cuda:N"),
    'dtype': (lambda v: v in ('auto', 'float32', 'bfloat16', 'float16'), 'auto, float32, bfloat16 or float16'),
    'backend': (lambda v: v in ('auto', 'nccl', 'gloo'), 'auto, nccl or gloo'),
    'split': (lambda v: v in ('val', 'test'), 'val or test'),
    'port': (lambda v: 0 <= v <= 65535, 'a TCP port 0-65535 (0: any free one)'),
}


def config_keys(g):
    # UPPER_CASE names are imported constants, not settings
    return [k for k, v in g.items() if not k.startswith('_') and not k.isupper() and isinstance(v, CONFIG_TYPES)]


def _coerce(key, value, default):
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif isinstance(default, str) and isinstance(value, str):
        return value
    raise SystemExit(f"error: config key '{key}' expects {type(default).__name__}, got {value!r}; "
                     f"fix the value (e.g. --{key}={default!r})")


def configure(g, argv=None):
    """Apply config files and --key=value overrides to the globals dict `g`; return the config."""
    argv = sys.argv[1:] if argv is None else argv
    keys = config_keys(g)
    for arg in argv:
        if not arg.startswith('--'):
            if not arg.endswith('.py'):
                raise SystemExit(f"error: '{arg}' is neither a config file (*.py) nor --key=value; "
                                 f"settings are passed as --key=value (known keys: {', '.join(sorted(keys))})")
            try:
                with open(arg, encoding='utf-8') as f:
                    source = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise SystemExit(f"error: cannot read config file {arg} ({e}); pass an existing file from config/")
            ns = {}
            try:
                exec(compile(source, arg, 'exec'), ns)
            except Exception as e:  # a config file is user code: any error in it is theirs to fix, in one line
                raise SystemExit(f"error: config file {arg} fails: {type(e).__name__}: {e}")
            for k, v in ns.items():
                if k.startswith('_') or k == '__builtins__' or not isinstance(v, CONFIG_TYPES):
                    continue
                if k not in keys:
                    raise SystemExit(f"error: unknown config key '{k}' in {arg}; known keys: {', '.join(sorted(keys))}")
                g[k] = _coerce(k, v, g[k])
        else:
            key, eq, raw = arg[2:].partition('=')
            if not eq and isinstance(g.get(key), bool):
                raw = 'True'  # a bare --flag switches a boolean on
            elif not eq:
                raise SystemExit(f"error: malformed argument '{arg}'; write --key=value")
            if key not in keys:
                raise SystemExit(f"error: unknown config key '{key}'; known keys: {', '.join(sorted(keys))}")
            try:
                value = literal_eval(raw)
            except (SyntaxError, ValueError):
                value = raw  # a bare word is a string, as in nanoGPT
            if isinstance(g[key], str) and not isinstance(value, str):
                value = raw  # --out_dir=2024 is a folder name, not a number
            g[key] = _coerce(key, value, g[key])
    for k in keys:
        if k in RANGES and not RANGES[k][0](g[k]):
            raise SystemExit(f"error: config key '{k}' must be {RANGES[k][1]}, got {g[k]!r}")
    return {k: g[k] for k in keys}
