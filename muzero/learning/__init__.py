"""What the model learns from: targets, the MuZero loss, the learner's update."""
