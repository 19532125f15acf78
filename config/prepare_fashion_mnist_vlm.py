# Fashion-MNIST as text, labels as words ('image:..., word:ankle boot.' and 'word:ankle boot, image:...'),
# with MNIST's recipe otherwise (config/prepare_mnist_vlm.py): both forms of every training image, and one
# shifted and rotated copy of each in the reading form only.
tasks = 'read,draw'
labels = 'words'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
