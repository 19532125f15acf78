"""nanoGPT-style configuration: plain globals, overridden by config files and --key=value.

Every script declares its settings as module globals, then calls
`configure(globals())` (nanoGPT exec()s configurator.py instead; a function
lets every stage share it without climbing the pipeline). Positional arguments
are config files (Python that assigns globals); `--key=value` arguments
override single keys. A key the script does not declare, a value of the wrong
type, a float that is not finite, or one outside its range (RANGES, by key name,
for every script, with an upper limit on every size and count) is an error in one
line, raised before the script touches a file: a typo must never silently train
the wrong model, exhaust the machine, or cost a trained one.
"""
import math
import re
import sys
from ast import literal_eval

CONFIG_TYPES = (bool, int, float, str)


def between(lo, hi, why):
    """A range check [lo, hi]: the upper limit says why no larger value makes sense (it would exhaust memory or
    time, or mean nothing), so that a typo is one line, not an allocator error or an hour of noise."""
    return (lambda v: lo <= v <= hi, f'in [{lo:g}, {hi:g}] ({why})')


# how many views of a picture an encoder reads it by (nanogpt/vision.py's VIEWS)
VIEWS = (lambda v: v in (1, 5, 9), '1, 5 or 9 (the picture, and moved a pixel each way or every way)')
# the side of the square blanked in half an encoder's pictures (random erasing, nanogpt/vision.py)
ERASE = between(0, 14, 'half a picture: a larger square leaves too little to read')
BIG = 10 ** 7  # steps, intervals: a month of CPU steps; beyond is a typo
RANGES = {
    # model and tokenizer sizes
    'n_layer': between(1, 64, 'deeper models do not fit one machine'),
    'n_head': between(1, 64, 'more heads than the widest model has dimensions'),
    'n_embd': between(1, 4096, 'wider models do not fit one machine'),
    'hidden': between(1, 2048, 'a tokenizer wider than this only costs memory'),
    'res_blocks': between(0, 16, 'a tokenizer deeper than this only costs time'),
    'code_dim': between(1, 1024, 'a code vector wider than this only costs memory'),
    # the image letters run from U+0100 to U+02C1 and no further: 450 is every letter there is
    'num_codes': between(2, 450, 'the Unicode letters after U+0100 that write image codes'),
    'tokens_per_image': between(0, 4096, "one letter per pixel of a 64x64 picture at most (0: the side's finest grid)"),
    'side': between(0, 64, "a picture's side (0: the dataset's default); past 64 a CPU run is hours"),
    'channels': between(0, 3, '1 grey, 3 colour (0: as the pictures are)'),
    'encoder_width': between(1, 1024, 'a conv encoder wider than this only costs memory'),
    'encoder_depth': between(0, 32, 'a conv encoder deeper than this only costs time'),
    'encoder_grid': between(0, 16, "a conv encoder's last map: the side of a letters' grid of a 64x64 picture at most"),
    # batches and schedules
    'batch_size': between(1, 65536, 'larger batches exhaust memory'),
    'gradient_accumulation_steps': between(1, 4096, 'an accumulated batch past millions of records'),
    'max_iters': between(1, BIG, 'a month of steps'),
    'lr_decay_iters': between(1, BIG, 'a month of steps'),
    'warmup_iters': between(0, BIG, 'a month of steps'),
    'eval_interval': between(1, BIG, 'a month of steps'),
    'log_interval': between(1, BIG, 'a month of steps'),
    'eval_iters': between(1, 100000, 'batches averaged for a logged loss'),
    'val_images': between(1, 1000000, 'more than any validation split holds'),
    'keep_last': between(0, 1000000, 'snapshots kept'),
    'steps': between(1, 100000, 'timed steps'),
    'epochs': between(1, 1000, 'epochs of a small classifier'),
    'min_steps': between(0, BIG, 'a month of steps'),
    'threads': between(0, 1024, 'torch CPU threads'),
    'learning_rate': between(0, 10, 'no model here trains above it: the loss goes to NaN'),
    'min_lr': between(0, 10, 'the floor of the learning rate'),
    'weight_decay': between(0, 100, 'decay past it zeroes every weight'),
    'grad_clip': between(0, 1e6, 'a clip past it never clips'),
    'answer_weight': between(0, 1000, 'a weight past it drowns every other target'),
    'commitment': between(0, 100, "the VQ-VAE's commitment weight"),
    'perceptual': between(0, 100, "the VQ-VAE's perceptual weight"),
    'label_term': between(0, 100, "the VQ-VAE's label weight"),
    'perceptual_steps': between(1, BIG, 'a month of steps'),
    'augment': between(0, 1, 'a share of the pictures'),
    'augment_until': between(0, 1, 'a share of the steps'),
    'augment_copies': between(0, 16, 'each copy of the training pictures costs its memory again'),
    'max_shift': between(0, 14, 'half a picture'),
    'max_rotate': between(0, 180, 'degrees'),
    'pixel_shift': between(0, 14, 'half a picture'),
    'encoder_erase': ERASE,
    'erase': ERASE,  # sweeps/anchor's name for it
    'image_vectors': between(0, 1, '0: a vector per letter of the grid, 1: one per picture'),
    'encoder_iters': between(0, BIG, 'a month of steps'),
    'encoder_epochs': between(0, BIG, 'a month of passes'),
    # sampling, drawing and scoring
    'temperature': between(0, 100, 'past it sampling is uniform noise'),
    'low_temperature': between(0, 100, 'past it sampling is uniform noise'),
    'guidance': between(0, 100, 'past it guidance is all there is'),
    'tries': between(1, 64, 'drawings per asked picture: each costs a drawing and a reading'),
    'top_k': between(0, 100000, 'more than any vocabulary holds'),
    'max_new_tokens': between(1, 100000, 'characters one call writes'),
    'num_samples': between(1, 10000, 'samples one call writes'),
    'n': between(1, 10000, 'pictures one call draws or reads: a 100x100 grid'),
    'n_per_digit': between(1, 10000, 'drawings per label scored'),
    'captions_per_label': between(1, 10000, 'drawings from captions per label scored'),
    'n_generate': between(1, 100000, 'drawings timed'),
    'clients': between(1, 256, 'concurrent clients of a load test'),
    'requests': between(1, 100000, 'requests per client of a load test'),
    'copies': between(0, 16, 'each copy of the training pictures costs its memory again'),
    'dead_threshold': between(0, 1e6, "a code picked fewer times than this per batch is restarted"),
    'seed': between(0, 2 ** 63 - 1, "torch's generators take 64 bits"),
    # shares and choices
    'dropout': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'sure': (lambda v: 0 <= v < 1, 'in [0, 1): no drawing is read as surely as 1'),
    'decay': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'beta1': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'beta2': (lambda v: 0 <= v < 1, 'in [0, 1)'),
    'text_share': (lambda v: 0 <= v <= 1, 'in [0, 1]'),
    'letters_share': (lambda v: 0 <= v <= 1, 'in [0, 1]'),
    'labels': (lambda v: v in ('digits', 'words'), 'digits or words'),
    'text': (lambda v: v in ('', 'shakespeare'), "'' (none) or shakespeare"),
    'digit': (lambda v: 0 <= v <= 9, 'a digit 0-9'),
    'encoder_views': VIEWS,
    'views': VIEWS,  # sweeps/anchor's name for it
    'device': (lambda v: re.fullmatch(r'auto|cpu|mps|cuda(:\d+)?', v) is not None, "auto, cpu, mps, cuda or cuda:N"),
    'dtype': (lambda v: v in ('auto', 'float32', 'bfloat16', 'float16'), 'auto, float32, bfloat16 or float16'),
    'backend': (lambda v: v in ('auto', 'nccl', 'gloo'), 'auto, nccl or gloo'),
    'split': (lambda v: v in ('val', 'test'), 'val or test'),
    'port': (lambda v: 0 <= v <= 65535, 'a TCP port 0-65535 (0: any free one)'),
}


def one_line(x):
    return ' '.join(str(x).split())[:200]


def shown(text):
    """User text as an error message shows it: as it is, or quoted with its escapes where it would break the line."""
    return text if text.isprintable() else repr(text)


def config_keys(g):
    # UPPER_CASE names are imported constants, not settings
    return [k for k, v in g.items() if not k.startswith('_') and not k.isupper() and isinstance(v, CONFIG_TYPES)]


def _coerce(key, value, default):
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # inf or nan passes every comparison a range makes: refuse it here
            raise SystemExit(f"error: config key '{key}' must be a finite number, got {value!r}")
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
                raise SystemExit(f"error: {arg!r} is neither a config file (*.py) nor --key=value; "
                                 f"settings are passed as --key=value (known keys: {', '.join(sorted(keys))})")
            try:
                with open(arg, encoding='utf-8') as f:
                    source = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise SystemExit(f"error: cannot read config file {shown(arg)} ({one_line(e)}); pass an existing file "
                                 "from config/")
            ns = {}
            try:
                exec(compile(source, arg, 'exec'), ns)
            except Exception as e:  # a config file is user code: any error in it is theirs to fix, in one line
                raise SystemExit(f"error: config file {shown(arg)} fails: {type(e).__name__}: {one_line(e)}")
            for k, v in ns.items():
                if k.startswith('_') or k == '__builtins__' or not isinstance(v, CONFIG_TYPES):
                    continue
                if k not in keys:
                    raise SystemExit(f"error: unknown config key '{k}' in {shown(arg)}; known keys: "
                                     f"{', '.join(sorted(keys))}")
                g[k] = _coerce(k, v, g[k])
        else:
            key, eq, raw = arg[2:].partition('=')
            if not eq and isinstance(g.get(key), bool):
                raw = 'True'  # a bare --flag switches a boolean on
            elif not eq:
                raise SystemExit(f"error: malformed argument {arg!r}; write --key=value")
            if key not in keys:
                raise SystemExit(f"error: unknown config key {key!r}; known keys: {', '.join(sorted(keys))}")
            try:
                value = literal_eval(raw)
            except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
                value = raw  # a bare word is a string, as in nanoGPT
            if isinstance(g[key], str) and not isinstance(value, str):
                value = raw  # --out_dir=2024 is a folder name, not a number
            g[key] = _coerce(key, value, g[key])
    for k in keys:
        if k in RANGES and not RANGES[k][0](g[k]):
            raise SystemExit(f"error: config key '{k}' must be {RANGES[k][1]}, got {g[k]!r}")
    return {k: g[k] for k in keys}
