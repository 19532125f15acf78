"""`make eval`'s sections for grounded captions and questions (data/mnist_vlm/grounded.py), each scored
against what answers without looking.

- caption: every test image captioned (greedy); label, each attribute and all of them (exact match)
  against the truth measured from its pixels (data/attributes.py); baselines: the commonest label,
  and the commonest level of each attribute among training images.
- caption_draw: 500 test images per label give their true captions (a random phrasing each), drawn
  with and without guidance; the judge reads the label, data/attributes.py measures the drawing;
  baseline: the same drawings against the requests shuffled (random attributes).
- question: one question of each template about every test image (a second test image for two-image
  templates); exact match against the blind answer, the commonest answer to that question among
  training labels.
"""
import numpy as np

from common.pictures import save_grid
from data.attributes import LEVELS, measure, to_levels
from data.mnist import load_split
from data.mnist_vlm.decode import Sample, prompt_images
from data.mnist_vlm.format import letters
from data.mnist_vlm.grounded import CAPTION, CAPTION_DRAW, QUESTION, blind_level
from eval.scores import judge_features, judge_reads


def measured_levels(images, meta):
    return to_levels(measure(images, meta['dataset']), meta['attribute_cuts'])


def pct(x):
    return f"{x:.4f}"


def caption_section(vlm, ev):
    meta = vlm.meta
    levels = measured_levels(ev.test_images, meta)
    blind = blind_level(measured_levels(load_split('train', meta['dataset'])[0], meta))
    res = CAPTION.evaluate(vlm.gpt, ev.seen, ev.labels, levels, meta, blind=blind, device=vlm.device)
    res['blind_levels'] = {a: LEVELS[a][v] for a, v in blind.items()}
    print(f"caption: label accuracy {res['label_accuracy']:.4f}, exact match {res['exact_match']:.4f}, "
          + ', '.join(f"{a} {r['accuracy']:.4f} (blind {r['blind_accuracy']:.4f})" for a, r in res['attributes'].items()))
    lo, hi = res['label_ci95']
    lines = [
        f"## Captions (all {res['n']:,} test images, greedy; parsed by their words)", "",
        "| measure | model | without looking |", "|---|---|---|",
        f"| label | {res['label_accuracy']:.4f} (95% CI {lo:.4f}-{hi:.4f}) | {res['label_blind_accuracy']:.4f} "
        "(the commonest label) |",
        *(f"| {a} ({', '.join(LEVELS[a])}) | {r['accuracy']:.4f} | {r['blind_accuracy']:.4f} (always "
          f"'{res['blind_levels'][a]}') |" for a, r in res['attributes'].items()),
        f"| exact match (label and every attribute) | {res['exact_match']:.4f} | - |",
        f"| captions with no '.' (unfinished) | {res['unparsed_rate']:.2%} | - |", "",
        "Examples: " + '; '.join(f"'{e['caption']}' ({e['label']})" for e in res['examples'][:5]), ""]
    return res, lines


def caption_draw_section(vlm, ev):
    meta, c = vlm.meta, ev.config
    pick = np.concatenate([np.flatnonzero(ev.test_labels == d)[:c['captions_per_label']] for d in range(10)])
    labels = ev.test_labels[pick]
    asked = {a: v[pick] for a, v in measured_levels(ev.test_images, meta).items()}
    res = {}
    for key, w in (('plain', 0.0), ('guided', c['guidance'])):
        codes = CAPTION_DRAW.generate(vlm.gpt, labels, asked, meta, seed=c['seed'], temperature=c['temperature'],
                                      guidance=w, device=vlm.device)
        images, _ = vlm.decode(codes)
        judged = judge_reads(ev.judge, judge_features(ev.judge, images, vlm.device), vlm.device)
        res[key] = CAPTION_DRAW.score(judged, labels, asked, measured_levels(images, meta),
                                      np.random.default_rng(c['seed']))
        res[key].update(temperature=c['temperature'], guidance=w)
        print(f"caption drawing ({key}): label {res[key]['label_accuracy']:.4f}, " + ', '.join(
            f"{a} {r['agreement']:.3f} (random {r['random_agreement']:.3f})" for a, r in res[key]['attributes'].items()))
        if key == 'guided':
            rows = np.concatenate([np.flatnonzero(labels == d)[:10] for d in range(10)])
            save_grid(images[rows], 10, f"{ev.eval_dir}/caption_drawn.png")
    names = meta['attributes']
    lines = [
        f"## Drawing from captions ({len(labels):,} true captions of test images, {c['captions_per_label']} per label, "
        f"T={c['temperature']})", "",
        "| drawn | label read as asked | " + " | ".join(f"{a}: as asked (random request)" for a in names) + " |",
        "|---" * (2 + len(names)) + "|",
        *(f"| {k}{', guidance ' + str(r['guidance']) if r['guidance'] else ''} | {r['label_accuracy']:.4f} | "
          + " | ".join(f"{r['attributes'][a]['agreement']:.3f} ({r['attributes'][a]['random_agreement']:.3f})"
                       for a in names) + " |" for k, r in res.items()), "",
        "![drawn from the captions of test images, a row per label, guided](caption_drawn.png)", ""]
    return res, lines


def question_section(vlm, ev):
    meta = vlm.meta
    codes, pixels = prompt_images(vlm.gpt, ev.seen, meta)  # placeholders, and the pictures beside them, or letters
    samples = [Sample(letters(c, meta), int(d), index=i) for i, (c, d) in enumerate(zip(codes, ev.labels))]
    res = QUESTION.evaluate(vlm.gpt, samples, load_split('train', meta['dataset'])[1], meta, pictures=pixels,
                            device=vlm.device, seed=ev.config['seed'])
    for name, r in res.items():
        print(f"question {name}: {r['accuracy']:.4f} (blind {r['blind_accuracy']:.4f}); e.g. {r['example']}")
    lines = [
        "## Questions (one per test image and template, greedy; exact match)", "",
        "| question | images | model (95% CI) | blind (the commonest answer to it) | example |", "|---|---|---|---|---|",
        *(f"| {name} | {r['images']} | {r['accuracy']:.4f} ({r['ci95'][0]:.4f}-{r['ci95'][1]:.4f}) | "
          f"{r['blind_accuracy']:.4f} | {r['example']} |" for name, r in res.items()), ""]
    return res, lines
