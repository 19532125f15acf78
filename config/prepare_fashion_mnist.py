# Fashion-MNIST's records, labels as words ('image:..., word:ankle boot.' and 'word:ankle boot, image:...'),
# with MNIST's recipe otherwise (config/prepare_mnist.py).
tasks = 'read,draw'  # the tasks whose records are written (tasks/*.py)
labels = 'words'  # the class names: a number says nothing about a coat
both_forms = True  # every picture in every task's form
augment_copies = 1  # one shifted and rotated copy of each picture, read form only
augment_draw = False  # drawing learns from real pictures alone
seed = 1337
