// Package poll is the one way Herald's tests wait for something: poll a
// condition with a deadline, never sleep for a guessed time. It is a leaf
// (standard library only), so every package's tests can use it without an
// import cycle.
package poll
