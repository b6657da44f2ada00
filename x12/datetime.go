package x12

// validDate reports whether s is a date in CCYYMMDD or YYMMDD form.
func validDate(s string) bool {
	if !isDigits(s) {
		return false
	}
	var y, m, d int
	switch len(s) {
	case 8:
		y = atoi(s[:4])
		m, d = atoi(s[4:6]), atoi(s[6:8])
	case 6:
		y = 2000 + atoi(s[:2])
		m, d = atoi(s[2:4]), atoi(s[4:6])
	default:
		return false
	}
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// validTime reports whether s is a time HHMM, HHMMSS, HHMMSSD or HHMMSSDD.
func validTime(s string) bool {
	if !isDigits(s) || len(s) < 4 || len(s) > 8 || len(s) == 5 {
		return false
	}
	if atoi(s[:2]) > 23 || atoi(s[2:4]) > 59 {
		return false
	}
	if len(s) >= 6 && atoi(s[4:6]) > 59 {
		return false
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
