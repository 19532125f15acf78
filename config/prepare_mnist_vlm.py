# Every training image in both task forms (classification and generation), plus one randomly
# shifted and rotated copy of each: the default run sees each sequence ~3 times, and fresh
# copies keep it from memorising them.
both_forms = True
augment_copies = 1
seed = 1337
