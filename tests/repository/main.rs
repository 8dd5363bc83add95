//! repository tests
