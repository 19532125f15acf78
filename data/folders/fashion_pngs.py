"""Fashion-MNIST written out as a folder of PNGs, to check that a folder and the published dataset give one answer.

    python -m data.folders.fashion_pngs --out=fashion_pngs     # then `make all IMAGES=fashion_pngs`

Every picture of the published files (data/mnist.py: the download or FASHION_MNIST_DIR, checked against
their SHA-256) as a 28x28 grey PNG: train/<label>/<index>.png for its 60,000 training pictures and
test/<label>/<index>.png for its 10,000 test pictures. The labels are its words, 'T-shirt/top' written
'T-shirt or top' (a folder name holds no '/'). The folder is imported pixel for pixel (a 28x28 grey
picture is already the run's picture); only the validation tenth differs, a seeded tenth of each label
where DATASET=fashion_mnist keeps train[50000:60000].
"""
import os
import sys

if __name__ == '__main__' and not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m data.folders.fashion_pngs --out=...")

from data import mnist

# -----------------------------------------------------------------------------
out = ''  # the folder to write: train/<label>/*.png and test/<label>/*.png
# -----------------------------------------------------------------------------


def folder_label(word):
    return word.replace('/', ' or ')


def write(folder):
    from PIL import Image
    if os.path.exists(os.path.join(folder, 'train')):
        raise SystemExit(f"error: {folder}/train exists; pass a new --out (nothing was written)")
    words = [folder_label(w) for w in mnist.source('fashion_mnist').words]
    n = 0
    for split, parts in (('train', ('train', 'val')), ('test', ('test',))):
        for w in words:
            os.makedirs(os.path.join(folder, split, w), exist_ok=True)
        for part in parts:  # train/ holds the published training set whole: validation and train alike
            images, labels = mnist.load_split(part, 'fashion_mnist')
            for image, label in zip(images, labels):
                Image.fromarray(image, 'L').save(os.path.join(folder, split, words[label], f'{n:05d}.png'))
                n += 1
    return n


def main():
    from common.configurator import configure
    configure(globals())
    if not out:
        raise SystemExit("error: pass the folder to write: python -m data.folders.fashion_pngs --out=fashion_pngs")
    n = write(out)
    print(f"{out}: {n:,} Fashion-MNIST pictures as 28x28 grey PNGs", file=sys.stderr)


if __name__ == '__main__':
    main()
