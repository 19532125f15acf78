# The judge, as short as a test needs: the wiring of its stage, not how well it reads.
epochs = 2
min_steps = 0
