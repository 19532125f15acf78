# The GPT reads each reading record's picture as pixels, cut into a grid of patches each projected by one
# linear layer (Fuyu; nanogpt/vision.py); drawing still writes letters. On top of the dataset's train config,
# with config/image_cnn.py's settings (not tuned for patches).
image_input = 'patches'
letters_share = 0.1  # a tenth of the reading records keep their letters: the 'image:' stream of drawing's guidance
pixel_shift = 1  # each picture read moves by up to a pixel
