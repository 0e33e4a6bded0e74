package storetest

func flowCases() []contractCase     { return nil }
func nodeCases() []contractCase     { return nil }
func databaseCases() []contractCase { return nil }
