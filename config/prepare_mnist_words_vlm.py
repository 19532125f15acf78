# MNIST with its labels as words ('image:..., word:seven.' and 'word:seven, image:...'), everything else as
# the digits' default (config/prepare_mnist_vlm.py), so that `make words` measures the words alone.
tasks = 'read,draw'
labels = 'words'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
