"""`make eval`: every measure of a trained run, in one report.

    python -m eval.report [--out_dir=out/mnist_vlm] [--judge_ckpt=out/judge/ckpt.pt] [--n_per_digit=100]
    python -m eval.report --out_dir=out/mnist_all_vlm --split=val    # the validation images, into eval_val/

Runs the evaluation of each task the run was trained on (meta.json's task list; SECTIONS maps a
task to its report section, reading in eval/classify.py under 'classification' in results.json,
drawing in eval/generate.py under 'generation'), then the
tokenizer's ceiling and the pictures. Writes out_dir/eval/results.json and report.md, each
rendered whole and written atomically, report.md last (make's target).
"""
import os
import platform

import torch

from common.configurator import configure
from common.files import write_json, write_text
from common.pictures import side_by_side, tile, token_histograms
from common.runtime import pick_device, resources
from data.mnist_vlm.decode import GUIDANCE
from eval import classify, generate, grounded
from eval.judge import JUDGE_CKPT
from eval.scores import judge_reads, real_digits, real_floor, reconstruction_ceiling
from nanogpt.vlm import RUN_DIR, VLM

# -----------------------------------------------------------------------------
out_dir = RUN_DIR
judge_ckpt = JUDGE_CKPT
n_per_digit = 100  # generated images per label, for the scores
# drawings from captions per label (TASKS=all): a true caption of each of the split's first images of the label.
# 5,000 in all (95% CI about +-0.008 at 0.9; 1,000 left +-0.02), in about 30 s on 2 cores
captions_per_label = 500
temperature = 1.0
low_temperature = 0.7  # a second, sharper sampling temperature, also scored
guidance = GUIDANCE  # a third scored draw: `temperature` with classifier-free guidance of this weight
top_k = 0
seed = 1337
device = 'auto'
split = 'test'  # 'val': the same report on the validation images, into eval_val/, for choosing a recipe
# -----------------------------------------------------------------------------
# each task's section and the key its results go under in results.json (the names the report has always used)
SECTIONS = {'read': ('classification', classify.report_section), 'draw': ('generation', generate.report_section),
            'caption': ('caption', grounded.caption_section), 'caption_draw': ('caption_draw', grounded.caption_draw_section),
            'question': ('question', grounded.question_section)}


def text_section(vlm, ev):
    """The text mixed in (data prepared with text=...): bits per character on all of its held-out 10%."""
    bpc = vlm.bits_per_char()
    print(f"text: {bpc:.4f} bits per character on held-out {vlm.meta['text']['name']}")
    return dict(bits_per_char=bpc, name=vlm.meta['text']['name'], val_tokens=vlm.meta['text']['val_tokens']), [
        f"## Text ({vlm.meta['text']['name']}, mixed in)", "",
        f"Bits per character on all {vlm.meta['text']['val_tokens']:,} held-out characters (the last 10%), in "
        f"windows of {vlm.meta['seq_len']}: {bpc:.4f}.", ""]


def task_rows(r):
    """The report's first table: one row per task the run learnt, its headline score beside what answers
    without looking (the commonest answer, or the judge's chance)."""
    rows = []
    if 'classification' in r:
        c = r['classification']
        rows.append(f"| read | accuracy | {c['accuracy']:.4f} | {c['majority_baseline']:.4f} (commonest label) |")
    if 'generation' in r:
        rows.append(f"| draw | judged as prompted, guided | {r['generation']['guided']['judge_accuracy']:.4f} | 0.10 |")
    if 'caption' in r:
        c = r['caption']
        rows.append(f"| caption | label / exact match | {c['label_accuracy']:.4f} / {c['exact_match']:.4f} | "
                    f"{c['label_blind_accuracy']:.4f} / - |")
        rows += [f"| caption: {a} | accuracy | {x['accuracy']:.4f} | {x['blind_accuracy']:.4f} (commonest level) |"
                 for a, x in c['attributes'].items()]
    if 'caption_draw' in r:
        g = r['caption_draw']['guided']
        rows.append(f"| caption_draw | label judged as asked, guided | {g['label_accuracy']:.4f} | 0.10 |")
        rows += [f"| caption_draw: {a} | as asked | {x['agreement']:.4f} | {x['random_agreement']:.4f} (random "
                 "request) |" for a, x in g['attributes'].items()]
    rows += [f"| question: {q} | exact match | {x['accuracy']:.4f} | {x['blind_accuracy']:.4f} (commonest answer) |"
             for q, x in r.get('question', {}).items()]
    if r.get('text'):
        rows.append(f"| text ({r['text']['name']}) | bits per character, held out | {r['text']['bits_per_char']:.4f} "
                    "| - |")
    return ["## Tasks", "", "| task | measure | model | without looking |", "|---|---|---|---|", *rows, ""]


def machine():
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} ({os.cpu_count()} CPU cores)"
    return f"{os.cpu_count()}-core CPU ({platform.machine()}), no GPU"


def markdown(r, sections):
    ceil = r['tokenizer_ceiling']
    return '\n'.join([
        f"# mnist-vlm evaluation: {r['checkpoint']} ({r['data_meta']['dataset']}, labels as "
        f"{r['data_meta']['label_form']})", "",
        f"Machine: {r['machine']}. Checkpoint from iteration {r['iter_num']} ({r['train_seconds']:.0f} s into "
        f"training); tasks: {', '.join(r['tasks'])}; images of the {r['split']} split. Judge: {r['judge']['path']} (test accuracy "
        f"{r['judge']['test_accuracy']:.4f}).", "",
        *task_rows(r),
        *sections,
        "## The tokenizer", "",
        f"VQ-VAE reconstructions of the test set: judge accuracy {ceil['judge_accuracy']:.4f}, FID "
        f"{ceil['fid']:.2f}, MSE {ceil['mse']:.4f} (pixels in [0, 1]): the ceiling of what drawn letters can show.", "",
        "| | |", "|---|---|",
        "| test images (left) and their VQ-VAE reconstructions (right) | ![](reconstructions.png) |",
        "| image letters by position, per label | ![](token_histograms.png) |", ""])


def main():
    config = configure(globals())
    vlm = VLM.load(out_dir, device=pick_device(device))
    ev = real_digits(vlm, judge_ckpt, split)
    ev.config, ev.eval_dir = config, os.path.join(out_dir, 'eval' if split == 'test' else f'eval_{split}')
    os.makedirs(ev.eval_dir, exist_ok=True)
    judge_acc = float((judge_reads(ev.judge, ev.real_feats, vlm.device) == ev.test_labels).mean())
    print(f"judge test accuracy {judge_acc:.4f}")
    recon, ev.ceiling = reconstruction_ceiling(ev.judge, vlm.vq, ev.test_images, ev.test_labels, ev.real_feats,
                                               vlm.device)
    ev.floor = real_floor(ev.real_feats)
    print(f"tokenizer ceiling: judge accuracy {ev.ceiling['judge_accuracy']:.4f}, MSE {ev.ceiling['mse']:.4f}, "
          f"FID {ev.ceiling['fid']:.2f}; real-vs-real FID floor {ev.floor:.2f}")
    side_by_side([tile(ev.test_images[:100], 10), tile(recon[:100], 10)], ['test images', 'VQ-VAE reconstructions'],
                 os.path.join(ev.eval_dir, 'reconstructions.png'))
    token_histograms(ev.codes, ev.labels, vlm.meta['num_codes'], vlm.meta['image_alphabet'],
                     os.path.join(ev.eval_dir, 'token_histograms.png'))

    results, sections = {}, []
    for task in vlm.tasks:
        key, section = SECTIONS[task.name]
        results[key], lines = section(vlm, ev)
        sections += lines
    if vlm.meta.get('text'):
        results['text'], lines = text_section(vlm, ev)
        sections += lines
    report = dict(checkpoint=os.path.join(out_dir, 'ckpt.pt'), split=split, iter_num=vlm.ckpt['iter_num'],
                  train_seconds=vlm.ckpt.get('elapsed', float('nan')), machine=machine(), tasks=vlm.meta['tasks'], **results,
                  tokenizer_ceiling=ev.ceiling, real_floor_fid=ev.floor,
                  judge=dict(path=judge_ckpt, test_accuracy=judge_acc), train_config=vlm.ckpt.get('config'),
                  eval_config=config, data_dir=vlm.data_dir, vqvae=vlm.meta['vqvae'], meta_sha256=vlm.ckpt['meta_sha256'],
                  data_meta={k: vlm.meta[k] for k in ('dataset', 'label_form', 'labels', 'vocab_size', 'seq_len',
                                                      'tokens_per_image', 'num_codes', 'tasks')},
                  resources=resources())
    text = markdown(report, sections)
    write_json(os.path.join(ev.eval_dir, 'results.json'), report)
    write_text(os.path.join(ev.eval_dir, 'report.md'), text)
    print(f"wrote {os.path.join(ev.eval_dir, 'report.md')} and results.json")


if __name__ == '__main__':
    main()
