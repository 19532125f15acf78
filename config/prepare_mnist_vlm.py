# The reading and drawing records of every training image, plus one randomly shifted and rotated copy
# of each in the reading form only: copies make reading robust, while drawing learns from real
# digits alone. On the validation digits (sweeps/cpu_validation.sh, README), against the default's
# 0.9799-0.9830 (3 seeds) read and 0.80-0.83 drawn as prompted at T=1.0 (FID 68-82):
# - copies in both forms: read 0.9801, drawn 0.785 (FID 99.6): the model learns to draw shifted digits;
# - no copies: read 0.9765, drawn 0.849 (FID 64.8): better drawing, but reading below the 0.98 floor.
tasks = 'read,draw'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
