package rpc

// SubjectAll is the filter matching every request subject of dc
// (herald.<dc>.rpc.<shard>.<verb>): what only agents may send to and only
// servers may answer.
func SubjectAll(dc string) string { return subject(dc, "*", "*") }
