# The mix study's records: MNIST's default records (config/prepare_mnist.py) with Tiny Shakespeare's characters in
# the vocabulary and its ids in text_train.bin / text_val.bin, to mix in at training time.
tasks = 'read,draw'  # the default's tasks
labels = 'digits'  # as the default
text = 'shakespeare'  # nanoGPT's shakespeare_char text, its 90/10 split
both_forms = True
augment_copies = 1
augment_draw = False
seed = 1337
