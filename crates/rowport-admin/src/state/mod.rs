//! rowport's own state, apart from the user's tables: users and their permissions, sessions,
//! uploads waiting between preview and confirm, remembered column mappings and import jobs.
