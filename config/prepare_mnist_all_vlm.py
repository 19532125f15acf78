# Every task of one model (`make all TASKS=all`): reading and drawing as in the default, grounded captions
# both ways and templated questions over one image or two (data/mnist_vlm/grounded.py). Each training
# image writes one record of each task (a random phrasing, a random question); its shifted and rotated
# copy writes the reading ones (read, caption, question): drawing learns from real digits alone.
tasks = 'read,draw,caption,caption_draw,question'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
