//! placeholder until state lands
