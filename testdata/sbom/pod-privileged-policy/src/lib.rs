//! A stub: the real source is not needed to describe the dependencies.
