package storetest

func receiptCases() []contractCase  { return nil }
func timerCases() []contractCase    { return nil }
func pacingCases() []contractCase   { return nil }
func flowCases() []contractCase     { return nil }
func nodeCases() []contractCase     { return nil }
func databaseCases() []contractCase { return nil }
