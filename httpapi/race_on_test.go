//go:build race

package httpapi_test

// raceDetector is whether the tests run under the race detector, which
// makes bulk writes several times slower.
const raceDetector = true
