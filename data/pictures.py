"""Which reader a dataset has: the published IDX datasets (data/mnist.py) or a folder of one's own pictures
imported into data/<name>/ (data/folder.py). Every stage asks here, by the dataset's name.

    images, labels = load_split('train', 'mnist')      # or 'fashion_mnist', or an imported folder's name
"""
from data import folder, mnist


def reader(dataset):
    if dataset in mnist.DATASETS or not folder.is_folder_dataset(dataset):
        return mnist  # it refuses an unknown name in one line, naming the folder datasets' way too
    return folder


def load_split(split, dataset='mnist'):
    """Pictures (N, side, side) uint8 and labels (N,) uint8 of 'train', 'val' or 'test'."""
    return reader(dataset).load_split(split, dataset)


def label_words(dataset):
    """The labels as words, in label order."""
    return list(mnist.source(dataset).words) if reader(dataset) is mnist else folder.read_info(dataset)['labels']


def captions(split, dataset='mnist'):
    """The caption of each picture of a split ('' where it has none), or None for a dataset without captions."""
    return None if reader(dataset) is mnist else folder.load_captions(split, dataset)


def source_files(dataset='mnist'):
    """The files a dataset's pictures come from (for run records)."""
    if reader(dataset) is mnist:
        return mnist.source_files(dataset)
    base = folder.folder_of(dataset)
    return [f"{base}/pictures.json"] + [f"{base}/{s}_{k}" for s in folder.SPLITS
                                        for k in ('images.npy', 'labels.npy', 'captions.json')]
