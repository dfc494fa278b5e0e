"""Quiz mode for trainers: questions generated from the briefs, validated, and graded."""
