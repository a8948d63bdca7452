//go:build !wasip1

package sdk

func logMessage(level int, msg string) {}
