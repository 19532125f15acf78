"""What a tokenizer allows at best, on the validation digits: the judge's accuracy, FID and MSE of
its reconstructions (the ceiling of what drawn letters can show, and a bound on what reading sees).

    python -m sweeps.tokenizer_ceiling --vqvae_ckpt=out/vqvae_mnist/ckpt.pt [--split=val]
"""
import json

from common.configurator import configure
from common.runtime import pick_device
from data.pictures import load_split
from eval.judge import JUDGE_CKPT, load_judge
from eval.scores import judge_features, reconstruction_ceiling
from vqvae.model import load_vqvae

# -----------------------------------------------------------------------------
vqvae_ckpt = 'out/vqvae_mnist/ckpt.pt'
judge_ckpt = JUDGE_CKPT
split = 'val'
# -----------------------------------------------------------------------------
configure(globals())
dev = pick_device('auto')
vq = load_vqvae(vqvae_ckpt, dev)
judge = load_judge(judge_ckpt, dev, dataset=vq.dataset)  # the judge of the images the tokenizer writes
images, labels = load_split(split, vq.dataset)
ceiling = reconstruction_ceiling(judge, vq, images, labels, judge_features(judge, images, dev), dev)[1]
print(json.dumps(dict(vqvae_ckpt=vqvae_ckpt, num_codes=vq.config.num_codes, split=split, **ceiling)))
