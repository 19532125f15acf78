# Every training image in both task forms (classification and generation), plus one randomly
# shifted and rotated copy of each in the classification form only: copies make reading robust,
# while drawing learns from real digits alone. Measured at equal training (GPU sweep, 2800 steps of
# 128): generation FID 67-76 without copies in the generation form against 93-95 with them, and
# test accuracy 0.9799-0.9823 (three seeds) against 0.9811 (two seeds).
tasks = 'read,draw'
both_forms = True
augment_copies = 1
augment_generation = False
seed = 1337
