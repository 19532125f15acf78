# The words study's records: MNIST with its labels as words ('image:..., word:seven.' and 'word:seven, image:...'),
# everything else as the default (config/prepare_mnist.py), so that the study measures the words alone.
tasks = 'read,draw'  # the default's tasks
labels = 'words'  # 'word:seven' for 'number:7'
both_forms = True
augment_copies = 1
augment_draw = False
seed = 1337
