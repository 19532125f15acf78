"""`make eval`: every measure of a trained run, in one report.

    python -m eval.report [--out_dir=out/mnist_letters] [--judge_ckpt=out/judge_mnist/ckpt.pt] [--n_per_digit=100]
    python -m eval.report --out_dir=out/mnist_all_cnn --split=val    # the validation pictures, into eval_val/

Loads the run folder (nanogpt/vlm.py) and runs the evaluation of each task it learnt (tasks/*.py:
each task scores itself and writes its own section; Shakespeare's when its data holds text) on every
picture of the split, then the tokenizer's ceiling and the pictures. The split's pictures come from
the raw data of the run's dataset; the training records (data/<data>/train.txt) only to count drawn
letter strings copied verbatim. Writes out_dir/eval/results.json and report.md, each rendered whole and
written atomically, report.md last (make's target).
"""
import os
import platform
import time

import torch
import torch.nn as nn

from common.configurator import configure
from common.files import writable_folder, write_json, write_text
from common.pictures import side_by_side, tile, token_histograms
from common.runtime import pick_device, resources
from data.pictures import captions, load_split
from eval.judge import JUDGE_CKPT, load_judge
from eval.scores import frechet_distance, judge_features, judge_reads, real_floor, reconstruction_ceiling, \
    train_image_strings
from nanogpt.engine import GUIDANCE, Engine
from nanogpt.pretrain import linear_probe, pretrain_steps
from nanogpt.vlm import VLM, snapshots
from tasks.draw import SURE, TRIES
from tasks.text import TEXT

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_letters'
judge_ckpt = JUDGE_CKPT
n_per_digit = 100  # drawn pictures per label, for the scores
# drawings from captions per label (TASKS=all): a true caption of each of the split's first pictures of the label.
# 2,000 in all: 95% CI about +-0.013 at 0.9 and +-0.005 at 0.99 (5,000: +-0.008 at 0.9), and each may be drawn
# again up to `tries` times
captions_per_label = 200
temperature = 1.0
low_temperature = 0.7  # a second, sharper sampling temperature, also scored
guidance = GUIDANCE  # a third scored draw: `temperature` with classifier-free guidance of this weight
tries = TRIES  # that draw's pictures drawn again while the run does not read them as asked, up to this many times
sure = SURE  # ... and while the run gives the asked label less than this probability (0: its reading alone)
top_k = 0
seed = 1337
device = 'auto'
split = 'test'  # 'val': the same report on the validation pictures, into eval_val/, for choosing a recipe
# -----------------------------------------------------------------------------


def trained(out_dir):
    """(iteration, path) of each trained ckpt_<iter>.pt of a run, in order: not step 0's, which reads at chance
    (train does not read it either) and would cost a reading of every picture."""
    return [(it, path) for it, path in snapshots(out_dir) if it > 0]


class Evaluation:
    """What every task's evaluation reads and measures with (tasks/base.py): the run and its engine, the split's
    pictures and labels and what the run reads of them (seen), the training pictures (for blind answers), the
    judge and the Fréchet distance (for drawings), the run's snapshots, the config and the folder to write in."""

    def __init__(self, vlm, judge_ckpt, split, config=None, eval_dir=None, memorisation=True):
        self.vlm, self.meta, self.engine, self.split = vlm, vlm.vocab, vlm.engine(), split
        self.config, self.eval_dir = config or {}, eval_dir
        self.dataset, self.device = self.meta['dataset'], vlm.device
        self.pictures, self.labels = load_split(split, self.dataset)
        self.captions = captions(split, self.dataset)  # a folder's own captions ('' where none), or None
        self.seen = vlm.see(self.pictures)
        self.iter_num = vlm.info.get('iter_num')
        self.out_dir = vlm.info.get('out_dir', '')
        self.data_dir = os.path.join('data', vlm.info.get('data', ''))
        self.judge = load_judge(judge_ckpt, self.device, dataset=self.dataset)
        self.real_feats = self.judge_features(self.pictures)
        strings = os.path.join(self.data_dir, 'train.txt')
        self.train_strings = train_image_strings(self.data_dir, set(self.meta['image_alphabet'])) \
            if memorisation and os.path.exists(strings) else None
        self._train = None

    @property
    def train_labels(self):
        return self.train_split()[1]

    @property
    def train_pictures(self):
        return self.train_split()[0]

    @property
    def train_captions(self):
        return captions('train', self.dataset) or []

    def train_split(self):
        if self._train is None:
            self._train = load_split('train', self.dataset)
        return self._train

    def judge_features(self, images):
        return judge_features(self.judge, images, self.device)

    def judge_reads(self, feats):
        return judge_reads(self.judge, feats, self.device)

    def fid(self, feats, label=None):
        """Fréchet distance of these judge features to the split's real pictures (of one label, or all)."""
        return frechet_distance(feats, self.real_feats if label is None else self.real_feats[self.labels == label])

    def snapshots(self):
        """(iteration, training seconds, engine) of each trained snapshot."""
        for it, path in trained(self.out_dir):
            other, ckpt = self.vlm.snapshot(path)
            yield it, ckpt.get('elapsed', float('nan')), Engine(other, self.meta, self.device)

    def seen_by(self, engine):
        """What a snapshot's engine reads of the split's pictures: the run's letters (one tokenizer for every
        snapshot), or its own image encoder's vectors, not ckpt.pt's."""
        return self.seen if self.vlm.encoder is None else engine.see(self.pictures)

    def first_snapshot(self):
        """(iteration, engine) of the earliest trained snapshot before ckpt.pt's, or None: a run evaluated once, at
        its end, has none other than ckpt.pt to show."""
        earlier = [(it, p) for it, p in trained(self.out_dir) if self.iter_num is None or it < self.iter_num]
        if not earlier:
            return None
        return earlier[0][0], Engine(self.vlm.snapshot(earlier[0][1])[0], self.meta, self.device)


class Letters(nn.Module):
    """The part a letters run reads through, as an encoder: pictures -> the vectors of the tokenizer's codes, in a
    row. A tokenizer may learn the labels too (vqvae/train.py's label_term): a probe of them shows what it knows."""

    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer
        self.eval()  # and stays so: outputs() restores the mode it finds, and a training tokenizer moves its codebook

    def forward(self, pictures, views=None):  # an encoder's call: letters are read from the picture as it is
        return self.tokenizer.quantizer.codebook[self.tokenizer.encode(pictures)].flatten(1)


def encoder_alone(ev, floats=50_000_000):
    """What the part a run reads pictures through knows alone: a linear probe of the vectors of a pixel run's frozen
    image encoder, or of a letters run's codes, fitted on the training pictures (as many as fit `floats` vectors'
    numbers in memory) and read on the split's."""
    encoder = ev.vlm.encoder
    letters = encoder is None
    if letters:
        encoder = Letters(ev.vlm.tokenizer)
        width = ev.vlm.tokenizer.config.tokens_per_image * ev.vlm.tokenizer.config.code_dim
    else:
        width = encoder.per_picture * encoder.args['n_embd']
    t0 = time.time()
    x, y = ev.train_split()
    n = min(len(x), floats // width)
    acc = linear_probe(encoder, (x[:n], y[:n]), (ev.pictures, ev.labels), len(ev.meta['labels']))
    cfg = ev.vlm.info.get('train_config') or {}  # a letters run has no encoder_iters (train refuses them): 0 steps
    pretrained = pretrain_steps(cfg.get('encoder_iters', 0), cfg.get('encoder_epochs', 0), len(x),
                                cfg.get('batch_size', 1))
    print(f"the {'tokenizer' if letters else 'image encoder'} alone: a linear probe of its vectors reads the "
          f"{ev.split} pictures at {acc:.4f} ({n:,} training pictures, {time.time() - t0:.1f}s)")
    return dict(accuracy=acc, train_pictures=n, pretrained_iters=pretrained, seconds=time.time() - t0,
                part='tokenizer' if letters else 'encoder')


def machine():
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} ({os.cpu_count()} CPU cores)"
    return f"{os.cpu_count()}-core CPU ({platform.machine()}), no GPU"


def markdown(r, rows, sections):
    ceil = r['tokenizer_ceiling']
    return '\n'.join([
        f"# mnist-vlm evaluation: {r['checkpoint']} ({r['data_meta']['dataset']}, labels as "
        f"{r['data_meta']['label_form']})", "",
        f"Machine: {r['machine']}. Checkpoint from iteration {r['iter_num']} ({r['train_seconds']:.0f} s into "
        f"training); tasks: {', '.join(r['tasks'])}; pictures of the {r['split']} split. Judge: {r['judge']['path']} "
        f"({r['split']} accuracy {r['judge']['test_accuracy']:.4f}).", "",
        "## Tasks", "", "| task | measure | model | without looking |", "|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows), "",
        *sections, *alone_section(r),
        "## The tokenizer", "",
        f"Tokenizer reconstructions of the {r['split']} pictures: judge accuracy {ceil['judge_accuracy']:.4f}, FID "
        f"{ceil['fid']:.2f}, MSE {ceil['mse']:.4f} (pixels in [0, 1]): the ceiling of what drawn letters can show.", "",
        "| | |", "|---|---|",
        "| pictures (left) and their reconstructions (right) | ![](reconstructions.png) |",
        "| image letters by position, per label | ![](token_histograms.png) |", ""])


def alone_section(r):
    a = r.get('encoder_alone')
    if not a:
        return []
    if a.get('part') == 'tokenizer':
        part, vectors = 'tokenizer', "the vectors of the codes the run's tokenizer writes"
        how = "The tokenizer was trained before the GPT and reads frozen; one trained with a label term " \
            "(vqvae/train.py's label_term) learnt the labels too, and this is what it knows of them."
    else:
        part, vectors = 'image encoder', "the frozen vectors the run's image encoder writes"
        how = f"pretrained alone on the training labels for {a['pretrained_iters']} steps, then frozen while the GPT " \
            "learnt" if a['pretrained_iters'] else "trained with the GPT, through it"
        how = f"The encoder was {how}."
    return [f"## The {part} alone", "",
            f"A linear head fitted on {vectors} of {a['train_pictures']:,} training pictures reads the {r['split']} "
            f"pictures at **{a['accuracy']:.4f}**" + (
                f"; the run reads them at {r['classification']['accuracy']:.4f}" if 'classification' in r else '') +
            f". {how}", ""]


def main():
    config = configure(globals())
    eval_dir = os.path.join(out_dir, 'eval' if split == 'test' else f'eval_{split}')
    vlm = VLM.from_pretrained(out_dir, device=pick_device(device))
    writable_folder(eval_dir, 'the report folder')
    ev = Evaluation(vlm, judge_ckpt, split, config, eval_dir)
    os.makedirs(eval_dir, exist_ok=True)
    judge_acc = float((ev.judge_reads(ev.real_feats) == ev.labels).mean())
    print(f"judge accuracy on the {split} pictures {judge_acc:.4f}")
    recon, ev.ceiling = reconstruction_ceiling(ev.judge, vlm.tokenizer, ev.pictures, ev.labels, ev.real_feats,
                                               vlm.device)
    ev.floor = real_floor(ev.real_feats)
    print(f"tokenizer ceiling: judge accuracy {ev.ceiling['judge_accuracy']:.4f}, MSE {ev.ceiling['mse']:.4f}, "
          f"FID {ev.ceiling['fid']:.2f}; real-vs-real FID floor {ev.floor:.2f}")
    side_by_side([tile(ev.pictures[:100], 10), tile(recon[:100], 10)], [f'{split} pictures', 'reconstructions'],
                 os.path.join(eval_dir, 'reconstructions.png'))
    token_histograms(vlm.encode(ev.pictures), ev.labels, vlm.vocab['num_codes'], vlm.vocab['image_alphabet'],
                     os.path.join(eval_dir, 'token_histograms.png'))

    results, rows, sections, seconds = {}, [], [], {}
    for task in vlm.tasks + ([TEXT] if vlm.vocab.get('text') else []):
        t0 = time.time()
        results[task.key] = task.evaluate(ev)
        seconds[task.name] = round(time.time() - t0, 1)
        rows += task.rows(results[task.key])
        sections += task.report(results[task.key], ev)
    alone = encoder_alone(ev)
    print("seconds each task's evaluation took: " + ', '.join(f"{k} {v:.0f}" for k, v in seconds.items()))
    info = vlm.info
    report = dict(checkpoint=os.path.join(out_dir, 'ckpt.pt'), split=split, iter_num=info.get('iter_num'),
                  train_seconds=info.get('elapsed', float('nan')), machine=machine(), tasks=vlm.vocab['tasks'],
                  **results, encoder_alone=alone, tokenizer_ceiling=ev.ceiling, real_floor_fid=ev.floor,
                  # the judge's accuracy on the split read (the key's name is kept: checks read it)
                  judge=dict(path=judge_ckpt, test_accuracy=judge_acc), train_config=info.get('train_config'),
                  eval_config=config, data_dir=ev.data_dir, vqvae=vlm.vocab.get('vqvae'),
                  meta_sha256=info.get('meta_sha256'),
                  data_meta={k: vlm.vocab[k] for k in ('dataset', 'label_form', 'labels', 'vocab_size', 'seq_len',
                                                       'tokens_per_image', 'num_codes', 'tasks')},
                  task_seconds=seconds, resources=resources())
    text = markdown(report, rows, sections)
    write_json(os.path.join(eval_dir, 'results.json'), report)
    write_text(os.path.join(eval_dir, 'report.md'), text)
    print(f"wrote {os.path.join(eval_dir, 'report.md')} and results.json")


if __name__ == '__main__':
    main()
