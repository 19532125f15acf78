"""Turn pictures into text: tokenizer letters and labels written as the records of every task.

    python -m data.records.prepare config/prepare_mnist.py --vqvae_ckpt=out/vqvae_mnist/ckpt.pt \
        --out_dir=data/mnist_vlm

The pictures are those the tokenizer (VQ-VAE) was trained on (its config's `dataset`: mnist or
fashion_mnist). Each picture becomes the records of the tasks named in `tasks` (tasks/*.py), its
label written as a digit or a word (`labels`). Writes {train,val,test}.txt, {train,val,test}.bin
(uint16 ids, one record of seq_len ids after another), {train,val,test}_layout.npy (each record's
task, as its index in meta.json's task list, and where its answer starts and ends: int16 (N, 3)),
{train,val,test}_images.npy (the 28x28 uint8 pictures each record shows, in the same order: what a
model that reads pixels sees, nanogpt/vision.py), {val,test}.npz (codes, labels and pixels of every
picture) and meta.pkl / meta.json (the vocabulary, tasks, labels, and the tokenizer that wrote the
letters, with its SHA-256). With text='shakespeare' the vocabulary also holds Tiny Shakespeare's
characters and text_{train,val}.bin hold its ids (nanoGPT's 90/10 split), for training to mix in.
Everything is computed before the first file is replaced; meta.json is written last and marks the
data complete.
"""
import json
import os
import pickle
from collections import namedtuple

if not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m data.records.prepare")

import numpy as np
import torch

from common.configurator import configure
from common.files import atomic_write, file_sha256, writable_folder, write_json
from common.runtime import run_record
from data.pictures import captions, label_words, load_split, source_files
from data.shakespeare import load_text, split_text, text_path
from tasks import get_tasks
from tasks.attributes import attributes_of, measure, tercile_cuts, to_levels
from tasks.base import Pool, Sample
from tasks.vocab import PAD, check_text, encode_array, image_alphabet, letters, make_vocab
from vqvae.model import load_vqvae, moved

# -----------------------------------------------------------------------------
vqvae_ckpt = 'out/vqvae_mnist/ckpt.pt'
out_dir = 'data/mnist_vlm'
tasks = 'read,draw'  # the tasks whose records the GPT trains on (tasks/*.py)
labels = 'digits'  # how labels are written: 'digits' (number:7) or 'words' (word:seven, word:ankle boot)
text = ''  # '' or 'shakespeare': a text whose characters join the vocabulary, for training to mix in
question_work = False  # questions answered after their working ('5+7=12'): the labels read, then the answer
both_forms = True  # every image in every task's form; False: the blog's one random task per image
augment_copies = 0  # extra copies of every training image, randomly shifted and rotated, then tokenised
augment_draw = False  # False: the copies teach reading only, so the model learns to draw real, upright digits
max_shift = 2.0     # pixels
max_rotate = 10.0   # degrees
seed = 1337
force = False  # True: replace a data folder prepared with other settings (runs trained on it will refuse it)
# -----------------------------------------------------------------------------
PLACE = ('out_dir', 'vqvae_ckpt', 'force')  # where the data lies and how it is written: no property of the data


DIGITS = '0123456789'
LABEL_KEYS = {'digits': 'number', 'words': 'word'}  # how each form of the labels is introduced in a record


def label_strings(dataset, form):
    """The labels as written in records: 'digits' (0-9) or 'words' (the dataset's class names)."""
    if form not in LABEL_KEYS:
        raise SystemExit(f"error: labels={form!r}; use one of {', '.join(LABEL_KEYS)}")
    words = label_words(dataset)
    if form == 'digits' and len(words) != len(DIGITS):
        raise SystemExit(f"error: labels='digits' writes ten labels 0-9, and {dataset} has {len(words)}; use "
                         "labels='words'")
    return list(DIGITS) if form == 'digits' else words


def caption_form(dataset):
    """What the describe tasks' records can hold: the characters of the dataset's captions and the longest."""
    texts = [t for split in ('train', 'val', 'test') for t in captions(split, dataset) or ()]
    if not any(texts):
        raise SystemExit(f"error: the describe tasks write a folder's own captions, and {dataset} has none; put a "
                         "captions.jsonl beside its train/ and import it again, or leave the tasks out")
    return dict(chars=''.join(sorted(set(''.join(texts)))), longest=max(map(len, texts)))


def build_meta(names, num_codes, tokens_per_image, *, dataset='mnist', labels='digits', text='', question_work=False):
    """The vocabulary and record length of a dataset holding these tasks' records (and `text`, mixed in)."""
    task_list = get_tasks(names)
    form = dict(labels=label_strings(dataset, labels), label_key=LABEL_KEYS[labels], label_words=label_words(dataset),
                dataset=dataset, question_work=question_work)
    if any('attributes' in t.meta_keys for t in task_list):  # captions say facts measured for this dataset only
        form['attributes'] = list(attributes_of(dataset))
    if any('captions' in t.meta_keys for t in task_list):  # a folder's own captions
        form['captions'] = caption_form(dataset)
    alphabet = image_alphabet(num_codes)
    texts = [r for t in task_list
             for r in t.texts(dict(form, image_alphabet=alphabet, tokens_per_image=tokens_per_image))]
    task_chars = ''.join(sorted(set(''.join(texts)) - {alphabet[0]}))
    meta = make_vocab(task_chars + text, num_codes, tokens_per_image)
    check_text(task_chars, alphabet, 'the labels and task templates')
    check_text(text, alphabet, 'the text to mix in')
    # the keys only some tasks read (attributes, label words) are kept only where they are read (a switch left
    # off, question_work, is left out alike)
    extra = {k: form[k] for t in task_list for k in t.meta_keys if form[k] is not False}
    return dict(meta, labels=form['labels'], label_key=form['label_key'], **extra, dataset=dataset,
                seq_len=max(len(r) for r in texts), label_form=labels, tasks=[t.name for t in task_list])


def encode_images(vq, images, batch=2000):
    return torch.cat([vq.encode(torch.from_numpy(images[i:i + batch].copy()))
                      for i in range(0, len(images), batch)]).numpy()


def augment(images, rng):
    """Random small shifts and rotations (bilinear resampling), the same for the same rng state."""
    turns = torch.from_numpy(rng.uniform(-max_rotate, max_rotate, len(images))).float()
    shifts = torch.from_numpy(rng.uniform(-max_shift, max_shift, (len(images), 2))).float()
    out = moved(torch.from_numpy(images.copy()).float() / 255, turns, shifts)
    return (out * 255).round().clamp(0, 255).to(torch.uint8).numpy()


# a split as written: its records (text and ids), the task and answer span of each record (layout), the
# pictures each record shows (what an encoder reads, nanogpt/vision.py), and the codes, labels and pixels of its
# real images (for evaluation)
Split = namedtuple('Split', 'text ids layout pixels codes labels images')


def split_records(split, vq, meta, task_list, rng):
    """The records of one split as text, their ids and layout, and the codes and labels of its real images."""
    images, labels = load_split(split, meta['dataset'])
    texts = captions(split, meta['dataset']) or [None] * len(images)
    n_real = len(images)
    if split == 'train' and augment_copies:
        images = np.concatenate([images] + [augment(images, rng) for _ in range(augment_copies)])
        labels = np.tile(labels, augment_copies + 1)
        texts = texts * (augment_copies + 1)
    codes = encode_images(vq, images)
    levels = to_levels(measure(images, meta['dataset']), meta['attribute_cuts']) if 'attribute_cuts' in meta else {}
    samples = [Sample(letters(row, meta), int(label), {a: int(v[i]) for a, v in levels.items()}, i, text)
               for i, (row, label, text) in enumerate(zip(codes, labels, texts))]
    pool = Pool(samples[:n_real])  # the second picture of a record showing two is a real one of the same split
    copy_tasks = [t for t in task_list if augment_draw or not t.draws]
    lines, source, layout = [], [], []
    for i, sample in enumerate(samples):
        chosen = task_list if i < n_real else copy_tasks
        if not both_forms:
            chosen = [chosen[rng.integers(len(chosen))]]
        for t in chosen:
            for prompt, answer, *others in t.records(sample, meta, rng=rng, pool=pool):
                lines.append((prompt + answer + '.').ljust(meta['seq_len'], PAD))
                layout.append((meta['tasks'].index(t.name), len(prompt), len(prompt) + len(answer)))
                source.append((i, *(others[0] if others else ())))
    joined = '\n'.join(lines) + '\n'
    ids = encode_array(''.join(lines), meta['stoi'])
    print(f"{split}: {len(images):,} images -> {len(lines):,} records of {meta['seq_len']} chars, {len(ids):,} tokens")
    # each record's pictures: (N, S, S[, 3]), or (N, 2, S, S[, 3]) where a question shows two (black where one shows
    # one)
    shown = max(len(s) for s in source)
    pictures = np.zeros((len(source), shown, *images.shape[1:]), dtype=np.uint8)
    for j in range(shown):
        has = np.array([len(s) > j for s in source])
        pictures[has, j] = images[[s[j] for s in source if len(s) > j]]
    return Split(joined, ids, np.array(layout, dtype=np.int16), pictures[:, 0] if shown == 1 else pictures,
                 codes[:n_real], labels[:n_real], images[:n_real])


def check_replacing(settings, vqvae_sha256):
    """Refuse to replace a data folder prepared from other settings or another tokenizer, unless forced: runs
    trained on it would no longer load. Rebuilding the same data again is harmless."""
    path = os.path.join(out_dir, 'meta.json')
    if force or not os.path.exists(path):
        return
    try:
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        was = (old['prepare_config'], old['vqvae']['sha256'])
    except (OSError, ValueError, KeyError, TypeError):
        was = None
    if was == (settings, vqvae_sha256):
        return
    what = 'data this code cannot read' if was is None else 'data of another tokenizer' if was[1] != vqvae_sha256 \
        else 'data of other settings (' + ', '.join(f"{k}={was[0].get(k)!r}, now {v!r}" for k, v in settings.items()
                                                    if was[0].get(k) != v) + ')'
    raise SystemExit(f"error: {out_dir} holds {what}; pass --force=True to replace it (runs trained on it will "
                     "then refuse it), or choose another --out_dir")


def main():
    config = configure(globals())
    writable_folder(out_dir)
    settings = {k: v for k, v in config.items() if k not in PLACE}
    check_replacing(settings, file_sha256(vqvae_ckpt) if os.path.exists(vqvae_ckpt) else None)
    task_list = get_tasks(tasks)
    vq = load_vqvae(vqvae_ckpt)
    corpus = load_text(text) if text else ''
    meta = build_meta(tasks, vq.config.num_codes, vq.config.tokens_per_image, dataset=vq.dataset, labels=labels,
                      text=corpus, question_work=question_work)
    if 'attributes' in meta:  # captions: each attribute's levels cut at its terciles
        meta['attribute_cuts'] = tercile_cuts(measure(load_split('train', meta['dataset'])[0], meta['dataset']))
    rng = np.random.default_rng(seed)
    # everything is read and computed before a file is touched: bad input leaves the old data whole
    splits = {split: split_records(split, vq, meta, task_list, rng) for split in ('train', 'val', 'test')}
    text_ids = {f'text_{k}': encode_array(part, meta['stoi'])
                for k, part in zip(('train', 'val'), split_text(corpus))} if corpus else {}
    os.makedirs(out_dir, exist_ok=True)
    # no meta.json while the files below are half new, half old (and no text left from an older dataset)
    for name in ('meta.json', 'meta.pkl', 'text_train.bin', 'text_val.bin'):
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))
    for split, sp in splits.items():
        atomic_write(os.path.join(out_dir, f'{split}.txt'), lambda f: f.write(sp.text.encode('utf-8')))
        atomic_write(os.path.join(out_dir, f'{split}.bin'), lambda f: f.write(sp.ids.tobytes()))
        atomic_write(os.path.join(out_dir, f'{split}_images.npy'), lambda f: np.save(f, sp.pixels))
        atomic_write(os.path.join(out_dir, f'{split}_layout.npy'), lambda f: np.save(f, sp.layout))
        if split != 'train':
            atomic_write(os.path.join(out_dir, f'{split}.npz'), lambda f: np.savez(
                f, codes=sp.codes.astype(np.uint16), labels=sp.labels, images=sp.images))
    for name, ids in text_ids.items():
        atomic_write(os.path.join(out_dir, f'{name}.bin'), lambda f: f.write(ids.tobytes()))
    inputs = source_files(meta['dataset']) + [vqvae_ckpt] + ([text_path()] if corpus else [])
    run_record(os.path.join(out_dir, 'run.json'), config, inputs, {})
    # where the data lies is no property of the data: out_dir is left out, so equal inputs give an equal meta.json
    meta['prepare_config'] = settings
    meta['vqvae'] = dict(path=vqvae_ckpt, sha256=file_sha256(vqvae_ckpt))
    meta['text'] = dict(name=text, path=text_path(), train_tokens=len(text_ids['text_train']),
                        val_tokens=len(text_ids['text_val'])) if corpus else None
    write_json(os.path.join(out_dir, 'meta.json'), meta)
    atomic_write(os.path.join(out_dir, 'meta.pkl'), lambda f: pickle.dump(meta, f))
    mixed = f", {text}: {len(corpus):,} characters to mix in" if corpus else ''
    example = splits['train'].text.partition('\n')[0]
    print(f"{meta['dataset']}: vocab_size {meta['vocab_size']}, tasks {','.join(meta['tasks'])}, labels {labels}"
          f"{mixed}, example: {example}")


if __name__ == '__main__':
    main()
