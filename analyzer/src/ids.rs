//! The ids that name a package and a target of the workspace for the whole run.
//!
//! They sit below configuration and sources, which name packages and targets, so that
//! neither needs the workspace module (which reads configuration files) to do it.

/// Index of a target in `Workspace::targets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetId(pub u32);

/// Index of a package in `Workspace::packages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageId(pub u32);
