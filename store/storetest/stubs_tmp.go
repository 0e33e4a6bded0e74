package storetest

func databaseCases() []contractCase { return nil }
