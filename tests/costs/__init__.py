"""Unit costs against peers and own history (issue 18)."""
