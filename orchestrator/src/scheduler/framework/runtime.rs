//! Running a profile's plugins at each extension point (upstream `framework/runtime`).
