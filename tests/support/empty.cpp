// Keeps mxg_test_support non-empty before any support file exists.
namespace mxg::test {
void support_anchor() {}
}  // namespace mxg::test
